Rails.application.routes.draw do
  # Liveness, from v4.11.0 only (#13386); before it the path is simply not routed (404).
  get '/health', to: 'health#show' if Chatwoot.version_at_least?('4.11.0')
  get '/api', to: 'api#index'
  get '/widget', to: 'widgets#index'
  post '/auth/sign_in', to: 'auth#sign_in'
  # Devise's password reset request (devise_token_auth mounts it at /auth/password).
  post '/auth/password', to: 'passwords#create'
  # Sign-up: account + administrator user, gated by ENABLE_ACCOUNT_SIGNUP.
  post '/api/v1/accounts', to: 'api/v1/accounts#create'
  # The account API's write path (upstream: namespace :api, defaults: { format: 'json' }), authenticated by the
  # api_access_token header: create a conversation, post a message into it (by the conversation's display id).
  scope defaults: { format: 'json' } do
    post '/api/v1/accounts/:account_id/conversations', to: 'api/v1/accounts/conversations#create'
    post '/api/v1/accounts/:account_id/conversations/:conversation_id/messages',
         to: 'api/v1/accounts/conversations/messages#create'
  end
  get '/installation/onboarding', to: 'onboarding#index'
  # Lab-only: lets a test enqueue a Sidekiq job from the web process.
  post '/lab/jobs', to: 'lab_jobs#create'
end
