require_relative 'boot'

require 'rails'
require 'active_model/railtie'
require 'active_job/railtie'
require 'active_record/railtie'
require 'action_controller/railtie'
require 'action_cable/engine'

Bundler.require(*Rails.groups)

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
  class Application < Rails::Application
    config.load_defaults 7.2
    config.api_only = true
    config.autoload_lib(ignore: %w[tasks])

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
