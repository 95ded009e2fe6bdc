# From v4.14.0 on (lab): one small additive migration, so an upgrade to this release visibly migrates.
class LabUpgradeMarkerV4140 < ActiveRecord::Migration[7.2]
  def up
    execute "INSERT INTO lab_upgrade_markers (version, created_at, updated_at) VALUES ('4.14.0', now(), now())"
  end

  def down
    execute "DELETE FROM lab_upgrade_markers WHERE version = '4.14.0'"
  end
end
