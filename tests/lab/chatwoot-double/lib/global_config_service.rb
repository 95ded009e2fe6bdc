# Chatwoot's GlobalConfigService (lib/global_config_service.rb), rewritten for the double.
#
# load(name, default), as read at v4.10.1:
#   1. the (typecast) cached row value wins when it is present?  -- note false.present? is false, so a row
#      holding boolean false (or a "false" string typecast to false) does NOT win here;
#   2. otherwise ENV[name] || default; blank -> nil;
#   3. otherwise InstallationConfig.where(name:).first_or_create(value: <that>, locked: false): the env value
#      is only written when there is NO row; an existing row is returned as it is stored (raw, untyped).
#
# account_signup_enabled?, per release:
#   before v4.12.0  load('ENABLE_ACCOUNT_SIGNUP', 'false') == 'false' blocks: only the STRING "false" blocks;
#                   a boolean false (what config/installation_config.yml seeds) leaves sign-up OPEN;
#   from v4.12.0    (#13745) load(...).to_s != 'false' allows: the string and the boolean false both block.
module GlobalConfigService
  def self.load(name, default_value)
    config = GlobalConfig.get(name)[name]
    return config if config.present?

    config_value = ENV.fetch(name) { default_value }
    return if config_value.blank?

    row = InstallationConfig.where(name: name).first_or_create(value: config_value, locked: false)
    GlobalConfig.clear_cache
    row.value
  end

  def self.account_signup_enabled?
    value = load('ENABLE_ACCOUNT_SIGNUP', 'false')
    return value.to_s != 'false' if Chatwoot.version_at_least?('4.12.0')

    value != 'false'
  end
end
