require 'socket'

# Writes alfred:LAB_ECHO:<token> with who ran it, so a test can tell the job ran in the sidekiq
# container (hostname) rather than inline.
class LabEchoJob < ApplicationJob
  queue_as :default

  def perform(token, source)
    payload = { token: token, source: source, hostname: Socket.gethostname, sidekiq: Sidekiq.server? ? true : false,
                ran_at: Time.now.utc.iso8601 }
    $alfred.with { |conn| conn.set("LAB_ECHO:#{token}", payload.to_json, ex: 3600) }
  end
end
