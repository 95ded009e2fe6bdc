# Lab-only helper: enqueue LabEchoJob from the web process so tests see Sidekiq pick it up.
class LabJobsController < ApplicationController
  def create
    token = params.require(:token).to_s
    job = LabEchoJob.perform_later(token, 'web')
    render json: { enqueued: true, job_id: job.provider_job_id || job.job_id }, status: :accepted
  end
end
