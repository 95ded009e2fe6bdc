# Like Chatwoot: the jsonb column holds a YAML dump of {value: ...} (a legacy of Chatwoot's serialize
# call), so always go through #value / #value=, never raw SQL. Commits clear the GlobalConfig cache.
class InstallationConfig < ApplicationRecord
  serialize :serialized_value, coder: YAML, type: ActiveSupport::HashWithIndifferentAccess

  before_validation :set_lock
  validates :name, presence: true, uniqueness: true

  after_commit :clear_cache

  def value
    (serialized_value || {}).with_indifferent_access[:value]
  end

  def value=(value_to_assign)
    self.serialized_value = { value: value_to_assign }.with_indifferent_access
  end

  private

  def set_lock
    self.locked = true if locked.nil?
  end

  def clear_cache
    GlobalConfig.clear_cache
  end
end
