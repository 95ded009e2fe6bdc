# Echoes every message back to the room. The echo goes through ActionCable.server.broadcast, i.e. a
# round trip through Redis pub/sub (channel chatwoot_production_action_cable:lab_echo:<room>), so a
# received echo proves the Redis adapter works, not just the socket.
class EchoChannel < ApplicationCable::Channel
  def subscribed
    stream_from broadcasting
  end

  def receive(data)
    ActionCable.server.broadcast(broadcasting, data)
  end

  private

  def broadcasting
    "lab_echo:#{params[:room].presence || 'lobby'}"
  end
end
