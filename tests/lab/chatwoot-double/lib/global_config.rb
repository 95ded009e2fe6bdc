# Chatwoot's installation-config cache (lib/global_config.rb, read at v4.10.1): alfred:V1:GLOBAL_CONFIG:<NAME>
# holds {"value": ...} for a day. Like upstream, get() TYPECASTS configs declared `type: boolean` in
# config/installation_config.yml (so a stored "false" string comes back as false), get_value() does not.
module GlobalConfig
  VERSION = 'V1'.freeze
  KEY_PREFIX = 'GLOBAL_CONFIG'.freeze
  DEFAULT_EXPIRY = 1.day

  def self.get(*names)
    config = names.index_with { |name| load_from_cache(name) }
    typecast(config).with_indifferent_access
  end

  def self.get_value(name)
    load_from_cache(name)
  end

  def self.clear_cache
    $alfred.with do |conn|
      keys = conn.keys("#{VERSION}:#{KEY_PREFIX}:*")
      conn.del(*keys) if keys.any?
    end
  end

  def self.typecast(config)
    general = ConfigLoader.new.general_configs
    config.to_h do |name, value|
      type = general.find { |entry| entry['name'] == name }&.dig('type')
      [name, type == 'boolean' ? ActiveRecord::Type::Boolean.new.cast(value) : value]
    end
  end

  def self.load_from_cache(name)
    key = "#{VERSION}:#{KEY_PREFIX}:#{name}"
    cached = $alfred.with { |conn| conn.get(key) }
    if cached.blank?
      cached = { value: InstallationConfig.find_by(name: name)&.value }.to_json
      $alfred.with { |conn| conn.set(key, cached, ex: DEFAULT_EXPIRY.to_i) }
    end
    JSON.parse(cached)['value']
  end
end
