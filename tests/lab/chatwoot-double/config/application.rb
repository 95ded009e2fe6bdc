require_relative 'boot'

require 'rails'
require 'active_model/railtie'
require 'active_job/railtie'
require 'active_record/railtie'
require 'action_controller/railtie'
require 'action_mailer/railtie'
require 'action_cable/engine'

Bundler.require(*Rails.groups)
# Loaded like the gem it stands in for (the real image bundles sidekiq_alive; it acts only in Sidekiq servers).
require_relative '../lib/lab_gems/sidekiq_alive'

# Chatwoot does not start without these; failing at boot with the variable's name beats a confusing
# error at the first request. Postgres is also checked by the entrypoint (POSTGRES_HOST or DATABASE_URL).
%w[SECRET_KEY_BASE FRONTEND_URL REDIS_URL].each do |name|
  next if ENV[name].to_s.strip != ''

  abort "Missing required environment variable #{name}: set it in the Chatwoot .env file"
end
if ENV['DATABASE_URL'].to_s.strip == '' && ENV['POSTGRES_HOST'].to_s.strip == ''
  abort 'Missing required environment variable POSTGRES_HOST (or DATABASE_URL)'
end

module Chatwoot
  # The image's release (config/app.yml, written at build time by docker/select-release.sh). Behaviour that
  # differs between releases asks version_at_least?('4.11.0') and friends; README.md lists every switch.
  APP_CONFIG = YAML.safe_load_file(File.expand_path('app.yml', __dir__)).fetch('shared').freeze

  def self.version
    APP_CONFIG.fetch('version')
  end

  def self.version_at_least?(release)
    Gem::Version.new(version) >= Gem::Version.new(release.to_s.delete_prefix('v'))
  end

  def self.lab_broken?
    APP_CONFIG.fetch('lab_broken', false) == true
  end

  class Application < Rails::Application
    config.load_defaults 7.2
    config.api_only = true
    config.autoload_lib(ignore: %w[tasks lab_gems])

    config.secret_key_base = ENV.fetch('SECRET_KEY_BASE')
    # Same as Chatwoot: installation_configs.serialized_value is YAML inside a jsonb column.
    config.active_record.yaml_column_permitted_classes = [ActiveSupport::HashWithIndifferentAccess, Symbol]
    config.active_job.queue_adapter = :sidekiq

    # ActionCable: mounted at /cable, any Origin accepted (Chatwoot serves widgets on foreign sites).
    config.action_cable.mount_path = '/cable'
    config.action_cable.disable_request_forgery_protection = true

    config.x.chatwoot = config_for(:app)
  end

  def self.config
    Rails.application.config.x.chatwoot
  end
end
