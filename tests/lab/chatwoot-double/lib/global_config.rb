# Chatwoot's installation-config cache: alfred:V1:GLOBAL_CONFIG:<NAME> holds {"value": ...} for a day.
module GlobalConfig
  VERSION = 'V1'.freeze
  KEY_PREFIX = 'GLOBAL_CONFIG'.freeze

  def self.get(*names)
    names.index_with { |name| load_from_cache(name) }.with_indifferent_access
  end

  def self.clear_cache
    $alfred.with do |conn|
      keys = conn.keys("#{VERSION}:#{KEY_PREFIX}:*")
      conn.del(*keys) if keys.any?
    end
  end

  def self.load_from_cache(name)
    key = "#{VERSION}:#{KEY_PREFIX}:#{name}"
    cached = $alfred.with { |conn| conn.get(key) }
    if cached.blank?
      cached = { value: InstallationConfig.find_by(name: name)&.value }.to_json
      $alfred.with { |conn| conn.set(key, cached, ex: 1.day.to_i) }
    end
    JSON.parse(cached)['value']
  end
end
