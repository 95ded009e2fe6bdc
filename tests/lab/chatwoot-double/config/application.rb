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

  # Upstream's guard (config/application.rb, v4.10.1-v4.16.2): MFA is offered only when all three Active
  # Record encryption variables are set; nothing refuses to boot without them.
  def self.encryption_configured?
    ENV['ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY'].present? &&
      ENV['ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY'].present? &&
      ENV['ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT'].present?
  end

  def self.mfa_enabled?
    encryption_configured?
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

    # Active Record encryption exactly as upstream configures it (config/application.rb, v4.10.1 and v4.16.2):
    # only when ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY is present, the other two read with ENV.fetch(.., nil).
    # Without the primary key nothing is configured and the app still boots; writing or reading an encrypted
    # value then raises ActiveRecord::Encryption::Errors::Configuration. With keys, support_unencrypted_data
    # makes a value that does not decrypt (other keys) read back as its stored ciphertext, not raise.
    if ENV['ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY'].present?
      config.active_record.encryption.primary_key = ENV['ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY']
      config.active_record.encryption.deterministic_key = ENV.fetch('ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY', nil)
      config.active_record.encryption.key_derivation_salt = ENV.fetch('ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT', nil)
      config.active_record.encryption.support_unencrypted_data = true
      config.active_record.encryption.extend_queries = true
      config.active_record.encryption.store_key_references = true
    end
    # Upstream runs `load_defaults 7.0` (on Rails 7.1.5.2), so Active Record encryption derives keys with its
    # framework default SHA1; the double's `load_defaults 7.2` would switch to SHA256 (a 7.1 default). Undo
    # that, so keys are derived as upstream derives them.
    config.active_record.encryption.hash_digest_class = OpenSSL::Digest::SHA1
    config.active_record.encryption.support_sha1_for_non_deterministic_encryption = false

    # ActionCable: mounted at /cable, any Origin accepted (Chatwoot serves widgets on foreign sites).
    config.action_cable.mount_path = '/cable'
    config.action_cable.disable_request_forgery_protection = true

    config.x.chatwoot = config_for(:app)
  end

  def self.config
    Rails.application.config.x.chatwoot
  end
end
