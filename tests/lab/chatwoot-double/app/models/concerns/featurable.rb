# Chatwoot's account feature flags (app/models/concerns/featurable.rb), reduced to what deployments notice:
# bitsets in bigint columns, defaults enabled when an account is created.
#   - before v4.16.0 one column, accounts.feature_flags;
#   - from v4.16.0 also accounts.feature_flags_ext_1; at boot the mapping of config/features.yml is checked
#     as upstream does (at most 63 flags per column, no unknown column: ArgumentError), and an account
#     created while the column is missing fails ("can't write unknown attribute `feature_flags_ext_1`").
module Featurable
  extend ActiveSupport::Concern

  DEFAULT_COLUMN = 'feature_flags'.freeze
  COLUMNS = (Chatwoot.version_at_least?('4.16.0') ? [DEFAULT_COLUMN, 'feature_flags_ext_1'] : [DEFAULT_COLUMN]).freeze
  MAX_FEATURES_PER_COLUMN = 63

  FEATURE_LIST = YAML.safe_load_file(Rails.root.join('config/features.yml')).select do |feature|
    feature['since'].nil? || Chatwoot.version_at_least?(feature['since'])
  end.freeze

  def self.mappings_for(features)
    by_column = features.group_by { |feature| feature['column'].presence || DEFAULT_COLUMN }
    mapping = COLUMNS.index_with do |column|
      list = by_column.delete(column) || []
      if list.size > MAX_FEATURES_PER_COLUMN
        raise ArgumentError, "Account feature flag column #{column} supports up to #{MAX_FEATURES_PER_COLUMN} features"
      end

      list.each_with_index.to_h { |feature, index| [feature['name'], 1 << index] }
    end
    raise ArgumentError, "Unknown account feature flag column: #{by_column.keys.join(', ')}" if by_column.any?

    mapping
  end

  FEATURES_BY_COLUMN = mappings_for(FEATURE_LIST).freeze

  included do
    before_create :enable_default_features
  end

  def feature_enabled?(name)
    column, bit = FEATURES_BY_COLUMN.each_pair.lazy.filter_map { |col, map| [col, map[name.to_s]] if map[name.to_s] }.first
    return false unless column

    (self[column].to_i & bit) != 0
  end

  def enabled_features
    FEATURES_BY_COLUMN.flat_map { |column, map| map.select { |_name, bit| (self[column].to_i & bit) != 0 }.keys }
  end

  private

  def enable_default_features
    FEATURES_BY_COLUMN.each do |column, map|
      bits = FEATURE_LIST.select { |feature| feature['enabled'] && map.key?(feature['name']) }
                         .sum { |feature| map[feature['name']] }
      self[column] = bits if bits.positive? || column == DEFAULT_COLUMN
    end
  end
end
