# The rails entrypoint runs a plain `bundle install`, as Chatwoot's does. Bundler then wants a cached .gem
# file for every gem of Gemfile.lock that ships *inside* Ruby (a "default gem", e.g. benchmark), and with
# no .gem at hand it goes to rubygems.org, which is unreachable here. A metadata-only .gem per default gem
# in RubyGems' own cache directory satisfies that look-up; nothing is installed from them (the gems already
# are). Not vendor/cache: its presence would make Bundler want a cached copy of every gem.
require 'bundler'
require 'rubygems/package'
require 'fileutils'

cache = File.join(Gem.default_dir, 'cache')
FileUtils.mkdir_p(cache)
Bundler.locked_gems.specs.each do |locked|
  spec = Gem::Specification.find_all_by_name(locked.name, locked.version.to_s).find(&:default_gem?)
  next unless spec

  stub = Gem::Specification.new do |s|
    s.name = spec.name
    s.version = spec.version
    s.summary = "lab stub of the default gem #{spec.name}"
    s.authors = ['chatwoot-lab']
    s.files = []
  end
  Dir.chdir(cache) { Gem::Package.build(stub) }
  puts "cached default gem #{spec.full_name}"
end
