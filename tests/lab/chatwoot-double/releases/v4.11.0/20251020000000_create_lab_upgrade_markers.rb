# From v4.11.0 on (lab): the table every later release adds its marker row to, so an upgrade test can see
# which releases' migrations db:chatwoot_prepare ran (SELECT version FROM lab_upgrade_markers).
class CreateLabUpgradeMarkers < ActiveRecord::Migration[7.2]
  def up
    create_table :lab_upgrade_markers do |t|
      t.string :version, null: false
      t.timestamps
    end
    execute "INSERT INTO lab_upgrade_markers (version, created_at, updated_at) VALUES ('4.11.0', now(), now())"
  end

  def down
    drop_table :lab_upgrade_markers
  end
end
