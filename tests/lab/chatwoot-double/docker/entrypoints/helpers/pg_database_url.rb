#!/usr/bin/env ruby
# Prints the export line rails.sh evaluates: host, port and user from DATABASE_URL when it is set (URI's
# port is nil for a postgres:// URL without one, which prints an empty POSTGRES_PORT, as upstream), else a
# default POSTGRES_PORT when none is set.
require 'uri'

url = ENV.fetch('DATABASE_URL', '')
if url != ''
  uri = URI(url)
  puts "export POSTGRES_HOST=#{uri.host} POSTGRES_PORT=#{uri.port} POSTGRES_USERNAME=#{uri.user}"
elsif ENV.fetch('POSTGRES_PORT', '') == ''
  puts 'export POSTGRES_PORT=5432'
end
