# Chatwoot's app-state helper, as upstream nested under Redis (Redis::Alfred, lib/redis/alfred.rb): key
# constants from Redis::RedisKeys and thin wrappers over the $alfred pool (keys land under "alfred:").
# There is no top-level RedisAlfred, as in the real image.
module Redis::Alfred
  include Redis::RedisKeys

  class << self
    def set(key, value, nx: false, ex: false) # rubocop:disable Naming/MethodParameterName
      $alfred.with { |conn| conn.set(key, value, nx: nx, ex: ex) }
    end

    def setex(key, value, expiry = 1.day)
      $alfred.with { |conn| conn.setex(key, expiry, value) }
    end

    def get(key)
      $alfred.with { |conn| conn.get(key) }
    end

    def delete(key)
      $alfred.with { |conn| conn.del(key) }
    end

    def exists?(key)
      $alfred.with { |conn| conn.exists?(key) }
    end

    def incr(key)
      $alfred.with { |conn| conn.incr(key) }
    end

    def expire(key, seconds)
      $alfred.with { |conn| conn.expire(key, seconds) }
    end
  end
end
