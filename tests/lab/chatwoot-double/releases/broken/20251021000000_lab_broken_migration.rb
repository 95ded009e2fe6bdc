# The lab-only broken release (tag v4.11.1 here): a migration that does real work and then dies. It runs
# outside a transaction (like Chatwoot's concurrent-index migrations), so its first change stays behind:
# the database is left between versions, which is what a rollback has to repair from a backup.
class LabBrokenMigration < ActiveRecord::Migration[7.2]
  disable_ddl_transaction!

  def up
    add_column :accounts, :lab_broken_partial, :boolean, default: false
    execute 'UPDATE accounts SET lab_broken_partial = true'
    raise StandardError, 'LabBrokenMigration failed part-way: simulated upgrade failure of the lab broken release'
  end

  def down
    remove_column :accounts, :lab_broken_partial
  end
end
