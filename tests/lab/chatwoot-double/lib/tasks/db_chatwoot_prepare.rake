# Chatwoot's one idempotent entry point for database preparation:
#   no ar_internal_metadata -> load db/schema.rb + seed; then always db:migrate;
#   database missing        -> create it and do the above.
# Seeds are loaded directly (not via db:seed) because this double's schema.rb predates its migrations and
# db:seed would abort on pending migrations; upstream's schema.rb is always current, so the effect is equal.
db_namespace = namespace :db do
  desc 'Runs setup if database does not exist, or runs migrations if it does'
  task chatwoot_prepare: :load_config do
    ActiveRecord::Base.configurations.configs_for(env_name: Rails.env).each do |db_config|
      created = false
      begin
        ActiveRecord::Base.establish_connection(db_config.configuration_hash)
        unless ActiveRecord::Base.connection.table_exists?('ar_internal_metadata')
          ActiveRecord::Tasks::DatabaseTasks.load_schema(db_config, :ruby, ENV.fetch('SCHEMA', nil))
          ActiveRecord::Tasks::DatabaseTasks.load_seed
        end
        db_namespace['migrate'].invoke
      rescue ActiveRecord::NoDatabaseError
        raise if created

        puts "Database #{db_config.database} does not exist, creating it"
        ActiveRecord::Tasks::DatabaseTasks.create(db_config)
        created = true
        retry
      end
    end
  end
end

# Like upstream: every migrate also inserts installation_configs keys that are missing.
Rake::Task['db:migrate'].enhance { ConfigLoader.new.process }
