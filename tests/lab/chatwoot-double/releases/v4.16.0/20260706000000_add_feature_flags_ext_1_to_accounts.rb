# v4.16.0 (upstream #14947): a second bigint bitset for account feature flags, because accounts.feature_flags
# holds at most 63 flags. config/features.yml entries choose it with `column: feature_flags_ext_1`.
class AddFeatureFlagsExt1ToAccounts < ActiveRecord::Migration[7.2]
  def change
    add_column :accounts, :feature_flags_ext_1, :bigint, default: 0, null: false
  end
end
