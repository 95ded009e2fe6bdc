# Stands in for the sidekiq_alive gem (2.5.0) that the real image bundles with no initializer (PR #12008).
# Written for the double from the gem's documented behaviour; loaded like a gem (config/application.rb), and
# like the gem it only acts inside a Sidekiq server process:
#   - on startup it registers SIDEKIQ_REGISTERED_INSTANCE::<hostname> (TTL 30 min), writes the alive key
#     SIDEKIQ::LIVENESS_PROBE_TIMESTAMP::<hostname> (TTL 10 min), and enqueues SidekiqAlive::Worker on the
#     process's own queue sidekiq-alive-<hostname>, served by a capsule of its own (concurrency
#     SIDEKIQ_ALIVE_CONCURRENCY, default 2); the job rewrites the key and schedules itself again in 5 min,
#     so the key stays fresh only while this process really runs jobs and reaches Redis;
#   - it forks an HTTP responder on SIDEKIQ_ALIVE_HOST:SIDEKIQ_ALIVE_PORT (default 0.0.0.0:7433) that answers
#     SIDEKIQ_ALIVE_PATH (default /) with 200 "Alive!" while the key exists, 404 "Can't find the alive key"
#     when it does not, 404 "Not found" for another path, 500 when Redis cannot be asked;
#   - DISABLE_SIDEKIQ_ALIVE=true turns it all off.
# The responder reproduces chatwoot/chatwoot#15818 on purpose, see SidekiqAlive::Server#read_headers.
require 'socket'
require 'sidekiq'

module SidekiqAlive
  VERSION = '2.5.0'.freeze
  CAPSULE = 'sidekiq-alive'.freeze
  LIVENESS_KEY = 'SIDEKIQ::LIVENESS_PROBE_TIMESTAMP'.freeze
  REGISTERED_INSTANCE_KEY = 'SIDEKIQ_REGISTERED_INSTANCE'.freeze
  TIME_TO_LIVE = 10 * 60
  REGISTRATION_TTL = TIME_TO_LIVE * 3

  class << self
    def hostname
      ENV['HOSTNAME'] || 'HOSTNAME_NOT_SET'
    end

    def host
      ENV.fetch('SIDEKIQ_ALIVE_HOST', '0.0.0.0')
    end

    def port
      Integer(ENV.fetch('SIDEKIQ_ALIVE_PORT', 7433))
    end

    def path
      ENV.fetch('SIDEKIQ_ALIVE_PATH', '/')
    end

    def concurrency
      Integer(ENV.fetch('SIDEKIQ_ALIVE_CONCURRENCY', 2), exception: false) || 2
    end

    def queue
      "#{CAPSULE}-#{hostname}"
    end

    def liveness_key
      "#{LIVENESS_KEY}::#{hostname}"
    end

    def registered_instance_key
      "#{REGISTERED_INSTANCE_KEY}::#{hostname}"
    end

    def logger
      Sidekiq.logger
    end

    def store_alive_key
      Sidekiq.redis { |conn| conn.call('SET', liveness_key, Time.now.to_i, 'EX', TIME_TO_LIVE) }
    end

    def register_current_instance
      Sidekiq.redis { |conn| conn.call('SET', registered_instance_key, Time.now.to_i, 'EX', REGISTRATION_TTL) }
    end

    def unregister_current_instance
      Sidekiq::Queue.new(queue).clear
      Sidekiq.redis { |conn| conn.call('DEL', registered_instance_key) }
    rescue StandardError => e
      logger.warn("[SidekiqAlive] could not unregister: #{e.message}")
    end

    def start
      Sidekiq.configure_server do |config|
        config.capsule(CAPSULE) do |capsule|
          capsule.concurrency = concurrency
          capsule.queues = [queue]
        end

        config.on(:startup) do
          logger.info("[SidekiqAlive] hostname #{hostname}, liveness key #{liveness_key}, queue #{queue}, " \
                      "listening on #{host}:#{port}#{path}")
          register_current_instance
          store_alive_key
          Worker.set(queue: queue).perform_async(hostname)
          @server_pid = Server.fork_and_run(host, port, path)
        end

        config.on(:quiet) { unregister_current_instance }

        config.on(:shutdown) do
          if @server_pid
            Process.kill('TERM', @server_pid)
            Process.wait(@server_pid)
          end
          unregister_current_instance
        end
      end
    end
  end

  class Worker
    include Sidekiq::Job
    sidekiq_options retry: false

    def perform(_hostname)
      SidekiqAlive.store_alive_key
      SidekiqAlive.register_current_instance
      self.class.set(queue: SidekiqAlive.queue).perform_in(TIME_TO_LIVE / 2, SidekiqAlive.hostname)
    end
  end

  # A tiny HTTP/1.1 responder in a child process, serving ONE connection at a time (the gem's GServer-based
  # server is started with maxConnections 1): while a connection is being handled, later ones wait unserved.
  class Server
    STATUS = { 200 => 'OK', 400 => 'Bad Request', 404 => 'Not Found', 500 => 'Internal Server Error' }.freeze

    def self.fork_and_run(host, port, path)
      fork do
        Signal.trap('TERM') { exit!(0) }
        new(host, port, path).run
        exit!(0)
      end
    end

    def initialize(host, port, path)
      @host = host
      @port = port
      @path = path
    end

    def run
      server = TCPServer.new(@host, @port)
      $stdout.sync = true
      loop do
        client = server.accept
        # One handler thread at a time: join before accepting the next connection.
        Thread.new(client) { |io| handle(io) }.join
      end
    end

    private

    def handle(io)
      request_line = io.gets
      unless request_line&.match(/^(\S+)\s+(\S+)\s+(\S+)/)
        read_headers(io, nil) if request_line.nil?
        return respond(io, 400)
      end

      request_path = Regexp.last_match(2)
      read_headers(io, request_line)
      respond(io, *answer(request_path))
    rescue StandardError
      nil
    ensure
      io.close unless io.closed?
    end

    # chatwoot/chatwoot#15818 (sidekiq_alive 2.5.0): the header loop reads lines until a blank one; at EOF
    # io.gets returns nil, `nil !~ /^(\n|\r)/` is true, and the loop never ends, spinning this handler thread
    # at 100% CPU. The double reproduces it for a client that closes before ending its request headers,
    # and (stricter than the gem's first-line check, never kinder) for one that connects and closes without
    # sending anything. While it spins, no later connection is served (one connection at a time).
    def read_headers(io, request_line)
      logged = false
      while (line = io.gets) !~ /^(\n|\r)/
        next unless line.nil? && !logged

        logged = true
        puts "[SidekiqAlive] lab double: chatwoot/chatwoot#15818 reproduced: a client closed the connection " \
             "before ending its request headers (request line: #{request_line.inspect}); this handler thread " \
             'now loops at 100% CPU and the health check server answers nobody any more'
      end
    end

    def answer(request_path)
      return [404, 'Not found'] if request_path != @path

      alive = Redis.new(RedisConfig.app.merge(reconnect_attempts: 0)).then do |redis|
        redis.ttl(SidekiqAlive.liveness_key) != -2
      ensure
        redis&.close
      end
      alive ? [200, 'Alive!'] : [404, "Can't find the alive key"]
    rescue StandardError
      [500, 'Internal Server Error']
    end

    def respond(io, status, body = nil)
      headers = ["HTTP/1.1 #{status} #{STATUS[status]}", "Server: SidekiqAlive/#{VERSION} (Ruby/#{RUBY_VERSION})",
                 'Connection: Keep-Alive', "Date: #{Time.now.utc.strftime('%a, %d %b %Y %H:%M:%S GMT')}",
                 'Content-Type: text/plain']
      headers << "Content-Length: #{body.bytesize}" if body
      io.write("#{headers.join("\r\n")}\r\n\r\n#{body}")
    end
  end
end

SidekiqAlive.start unless ENV.fetch('DISABLE_SIDEKIQ_ALIVE', '').casecmp('true').zero?
