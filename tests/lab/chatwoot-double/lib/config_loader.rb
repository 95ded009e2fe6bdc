# Inserts the installation_configs keys listed in config/installation_config.yml that are missing.
# Existing rows are never overwritten: an operator's choice survives every db:chatwoot_prepare.
class ConfigLoader
  def general_configs
    @general_configs ||= YAML.safe_load_file(Rails.root.join('config/installation_config.yml')).freeze
  end

  def process
    InstallationConfig.reset_column_information
    general_configs.each do |entry|
      next if InstallationConfig.exists?(name: entry['name'])

      InstallationConfig.create!(name: entry['name'], value: entry['value'], locked: entry.fetch('locked', true))
    end
  end
end
