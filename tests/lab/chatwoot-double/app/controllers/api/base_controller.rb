# Upstream's authenticated API base (Api::BaseController + AccessTokenAuthHelper + RequestExceptionHandler,
# read at v4.10.1 and v4.16.2), for the account API the double serves:
#   - a request with an `api_access_token` header (Rack env api_access_token or HTTP_API_ACCESS_TOKEN) is
#     authenticated by AccessToken.find_by(token:); unknown token -> 401 {"error": "Invalid Access Token"};
#   - without it upstream asks devise_token_auth (`authenticate_user!`), whose failure is
#     401 {"errors": ["You need to sign in or sign up before continuing."]}. The double has no
#     devise_token_auth sessions, so every request without an access token gets that 401 (stricter: a
#     dashboard client's access-token/client/uid headers are not accepted here);
#   - around it all, handle_with_exception: RecordNotFound -> 404 {"error": "Resource could not be found"},
#     not authorized -> 401 {"error": "You are not authorized to do this action"}, ParameterMissing -> 422;
#     RecordInvalid -> 422 {"message": full messages, "attributes": [...]}.
module Api
  class BaseController < ApplicationController
    # Stands in for Pundit::NotAuthorizedError (the double has no Pundit).
    class NotAuthorizedError < StandardError; end

    around_action :handle_with_exception
    before_action :authenticate_access_token!, if: :authenticate_by_access_token?
    before_action :authenticate_user!, unless: :authenticate_by_access_token?

    rescue_from ActiveRecord::RecordInvalid, with: :render_record_invalid

    private

    def authenticate_by_access_token?
      request.headers[:api_access_token].present? || request.headers[:HTTP_API_ACCESS_TOKEN].present?
    end

    def authenticate_access_token!
      token = request.headers[:api_access_token] || request.headers[:HTTP_API_ACCESS_TOKEN]
      @access_token = AccessToken.find_by(token: token) if token.present?
      render_unauthorized('Invalid Access Token') && return if @access_token.blank?

      @resource = @access_token.owner
      @current_user = @resource if @resource.is_a?(User)
      # Upstream (validate_bot_access_token!): owners other than users are bots, limited to bot endpoints; the
      # double has no agent bots, so any other owner is refused.
      render_unauthorized('Access to this endpoint is not authorized for bots') unless @current_user
    end

    def authenticate_user!
      render json: { errors: ['You need to sign in or sign up before continuing.'] }, status: :unauthorized
    end

    attr_reader :current_user

    def authorize!(allowed)
      raise NotAuthorizedError unless allowed
    end

    def handle_with_exception
      yield
    rescue ActiveRecord::RecordNotFound => e
      logger.info("Handled error: #{e.inspect}")
      render_not_found_error('Resource could not be found')
    rescue NotAuthorizedError => e
      logger.info("Handled error: #{e.inspect}")
      render_unauthorized('You are not authorized to do this action')
    rescue ActionController::ParameterMissing => e
      logger.info("Handled error: #{e.inspect}")
      render_could_not_create_error(e.message)
    end

    def render_unauthorized(message)
      render json: { error: message }, status: :unauthorized
    end

    def render_not_found_error(message)
      render json: { error: message }, status: :not_found
    end

    def render_could_not_create_error(message)
      render json: { error: message }, status: :unprocessable_entity
    end

    def render_record_invalid(exception)
      logger.info("Handled error: #{exception.inspect}")
      render json: { message: exception.record.errors.full_messages.join(', '),
                     attributes: exception.record.errors.attribute_names }, status: :unprocessable_entity
    end
  end
end
