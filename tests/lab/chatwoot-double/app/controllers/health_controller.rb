# Liveness: touches neither Postgres nor Redis.
class HealthController < ApplicationController
  def show
    render json: { status: 'woot' }
  end
end
