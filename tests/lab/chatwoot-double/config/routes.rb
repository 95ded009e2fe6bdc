Rails.application.routes.draw do
  get '/health', to: 'health#show'
  get '/api', to: 'api#index'
  get '/widget', to: 'widgets#index'
  post '/auth/sign_in', to: 'auth#sign_in'
  get '/installation/onboarding', to: 'onboarding#index'
  # Lab-only: lets a test enqueue a Sidekiq job from the web process.
  post '/lab/jobs', to: 'lab_jobs#create'
end
