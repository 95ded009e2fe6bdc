# POST /api/v1/accounts/:account_id/conversations/:conversation_id/messages (upstream
# Api::V1::Accounts::Conversations::MessagesController#create and its BaseController, v4.10.1 and v4.16.2):
# the conversation is looked up by DISPLAY id within the account (else 404 "Resource could not be found"),
# must be visible to the user (ConversationPolicy#show?), then Messages::MessageBuilder saves the message.
# Any error while building or saving (flood limit, validation, an incoming message outside an API inbox) is
# rescued as 422 {"error": message}. 200 answers the message JSON (views/api/v1/models/_message).
module Api
  module V1
    module Accounts
      module Conversations
        class MessagesController < Api::V1::Accounts::BaseController
          before_action :conversation

          def create
            message = Messages::MessageBuilder.new(current_user, @conversation, params).perform
            render json: message_json(message)
          rescue StandardError => e
            render_could_not_create_error(e.message)
          end

          private

          def conversation
            @conversation ||= @current_account.conversations.find_by!(display_id: params[:conversation_id])
            authorize_conversation!(@conversation)
          end
        end
      end
    end
  end
end
