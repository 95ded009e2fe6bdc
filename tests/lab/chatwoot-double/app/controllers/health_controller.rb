# GET /health (from v4.11.0, #13386): liveness only, touches neither Postgres nor Redis. Upstream derives it
# from ActionController::Base to skip the API stack; the answer is the same.
class HealthController < ApplicationController
  def show
    render json: { status: 'woot' }
  end
end
