# The "next" release (v4.11.0 in the lab) adds exactly this migration, so an upgrade test can see that
# db:chatwoot_prepare ran the new image's migrations.
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
