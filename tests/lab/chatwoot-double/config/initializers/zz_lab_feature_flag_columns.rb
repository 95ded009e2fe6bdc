# Lab (stricter than upstream, see README.md): from v4.16.0 the web server and Sidekiq refuse to start on a
# database that lacks accounts.feature_flags_ext_1, i.e. one that the release's migrations have not reached.
# Upstream only checks the features.yml mapping at boot (Featurable) and fails later, at the first write of
# the missing column. Rake tasks (db:chatwoot_prepare must add the column) and rails runner are not checked.
Rails.application.config.after_initialize do
  next unless Chatwoot.version_at_least?('4.16.0')
  next unless defined?(Rails::Server) || Sidekiq.server?

  begin
    present = ActiveRecord::Base.connection.column_exists?(:accounts, :feature_flags_ext_1)
  rescue ActiveRecord::ConnectionNotEstablished, ActiveRecord::NoDatabaseError, PG::Error => e
    warn "[lab] could not check accounts.feature_flags_ext_1 at boot (#{e.class}); starting anyway"
    present = true
  ensure
    ActiveRecord::Base.connection_pool.disconnect!
  end
  unless present
    abort "Chatwoot #{Chatwoot.version} needs accounts.feature_flags_ext_1, which this database lacks: run " \
          'bundle exec rails db:chatwoot_prepare with this image before starting rails and sidekiq'
  end
end
