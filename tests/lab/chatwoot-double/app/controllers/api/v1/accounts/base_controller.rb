# Upstream Api::V1::Accounts::BaseController + EnsureCurrentAccountHelper (v4.10.1, v4.16.2): the account must
# exist (else 404 via RecordNotFound), be active (else 401 "Account is suspended") and the user must belong
# to it (else 401 "You are not authorized to access this account"). v4.16's validate_token_api_access asks
# Account#api_and_webhooks_enabled?, which is always true outside Chatwoot Cloud, so it is not modelled.
module Api
  module V1
    module Accounts
      class BaseController < Api::BaseController
        before_action :current_account

        private

        def current_account
          @current_account ||= ensure_current_account
        end

        def ensure_current_account
          account = Account.find(params[:account_id])
          render_unauthorized('Account is suspended') and return unless account.active?

          @current_account_user = account.account_users.find_by(user_id: current_user.id)
          render_unauthorized('You are not authorized to access this account') unless @current_account_user
          account
        end

        # InboxPolicy#show?: the inbox is among the user's assigned inboxes (all of them for administrators).
        def authorize_inbox!(inbox)
          authorize!(current_user.assigned_inboxes(@current_account).exists?(id: inbox.id))
        end

        # ConversationPolicy#show?: administrator, or access to its inbox (teams are not modelled: no team_id).
        def authorize_conversation!(conversation)
          authorize!(@current_account_user.administrator? ||
                     current_user.inboxes.where(account_id: @current_account.id).exists?(id: conversation.inbox_id))
        end

        # Upstream's app/views/api/v1/models/_message.json.jbuilder (echo_id and sender only when present).
        def message_json(message)
          json = { id: message.id, content: message.content, inbox_id: message.inbox_id }
          json[:echo_id] = message.echo_id if message.echo_id
          json.merge!(conversation_id: message.conversation.display_id,
                      message_type: message.message_type_before_type_cast, content_type: message.content_type,
                      status: message.status, content_attributes: message.content_attributes || {},
                      created_at: message.created_at.to_i, private: message.private, source_id: message.source_id)
          json[:sender] = message.sender.push_event_data if message.sender
          json
        end
      end
    end
  end
end
