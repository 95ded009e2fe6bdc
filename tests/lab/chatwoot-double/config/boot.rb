ENV['BUNDLE_GEMFILE'] ||= File.expand_path('../Gemfile', __dir__)

# Lab: a real Chatwoot boot takes tens of seconds (a large Rails app, bootsnap-less production boot), and
# health checks, start orders and timeouts must cope with that. Every boot of this double (rails s, sidekiq,
# rails runner, rake) therefore waits LAB_BOOT_DELAY seconds first (the image sets 15; see README.md).
delay = ENV.fetch('LAB_BOOT_DELAY', '0').strip
unless delay.match?(/\A\d+(\.\d+)?\z/)
  abort "LAB_BOOT_DELAY must be a number of seconds, got #{delay.inspect}"
end
if delay.to_f.positive?
  warn "[lab] booting Chatwoot (double): waiting LAB_BOOT_DELAY=#{delay} s, as a real boot is slow"
  sleep delay.to_f
end

require 'bundler/setup'
