# POST /api/v1/accounts/:account_id/conversations (upstream Api::V1::Accounts::ConversationsController#create
# with ContactInboxBuilder and ConversationBuilder, v4.10.1; unchanged to v4.16.2). Params as upstream:
#   inbox_id + contact_id -> the contact's contact inbox there (source_id as given, else a generated UUID for
#                            web widget inboxes; other channel types raise, as upstream: 500);
#   source_id alone       -> the existing contact inbox with that source_id (else 404);
#   status, assignee_id, additional_attributes, custom_attributes, snoozed_until; message: {content, ...}
#   creates the first message in the same transaction.
# An unknown inbox or contact in the account -> 404; an inbox the user cannot see -> 401. An inbox locked to a
# single conversation answers the contact's last conversation. 200 answers a subset of upstream's
# conversation JSON (views/api/v1/conversations/partials/_conversation), `id` being the display id.
module Api
  module V1
    module Accounts
      class ConversationsController < Api::V1::Accounts::BaseController
        before_action :inbox, :contact, :contact_inbox, only: [:create]

        def create
          ActiveRecord::Base.transaction do
            @conversation = lookup_existing_conversation || Conversation.create!(conversation_params)
            Messages::MessageBuilder.new(current_user, @conversation, params[:message]).perform if params[:message].present?
          end
          render json: conversation_json(@conversation.reload)
        end

        private

        def inbox
          return if params[:inbox_id].blank?

          @inbox = @current_account.inboxes.find(params[:inbox_id])
          authorize_inbox!(@inbox)
        end

        def contact
          return if params[:contact_id].blank?

          @contact = @current_account.contacts.find(params[:contact_id])
        end

        def contact_inbox
          @contact_inbox = build_contact_inbox
          @contact_inbox ||= ContactInbox.find_by!(source_id: params[:source_id])
          authorize_inbox!(@contact_inbox.inbox)
        rescue ActiveRecord::RecordNotUnique
          render json: { error: 'source_id should be unique' }, status: :unprocessable_entity
        end

        def build_contact_inbox
          return if @inbox.blank? || @contact.blank?

          source_id = params[:source_id].presence || generate_source_id
          ContactInbox.where(contact_id: @contact.id, inbox_id: @inbox.id, source_id: source_id)
                      .first_or_create!(hmac_verified: false)
        end

        # ContactInboxBuilder#generate_source_id for the channel types the double has.
        def generate_source_id
          return SecureRandom.uuid if %w[Channel::Api Channel::WebWidget].include?(@inbox.channel_type)

          raise "Unsupported operation for this channel: #{@inbox.channel_type}"
        end

        def lookup_existing_conversation
          return unless @contact_inbox.inbox.lock_to_single_conversation?

          @contact_inbox.conversations.last
        end

        def conversation_params
          attrs = { account_id: @contact_inbox.inbox.account_id, inbox_id: @contact_inbox.inbox_id,
                    contact_id: @contact_inbox.contact_id, contact_inbox_id: @contact_inbox.id,
                    additional_attributes: params[:additional_attributes]&.permit! || {},
                    custom_attributes: params[:custom_attributes]&.permit! || {},
                    snoozed_until: params[:snoozed_until], assignee_id: params[:assignee_id], team_id: params[:team_id] }
          attrs[:status] = params[:status] if params[:status].present?
          attrs
        end

        def conversation_json(conversation)
          last = conversation.messages.where(account_id: conversation.account_id).last
          { meta: { sender: conversation.contact.push_event_data, channel: conversation.inbox.channel_type,
                    hmac_verified: conversation.contact_inbox&.hmac_verified },
            id: conversation.display_id,
            messages: last ? [push_event_data(last)] : [],
            account_id: conversation.account_id, uuid: conversation.uuid,
            additional_attributes: conversation.additional_attributes,
            agent_last_seen_at: conversation.agent_last_seen_at.to_i,
            assignee_last_seen_at: conversation.assignee_last_seen_at.to_i,
            contact_last_seen_at: conversation.contact_last_seen_at.to_i,
            custom_attributes: conversation.custom_attributes, inbox_id: conversation.inbox_id,
            snoozed_until: conversation.snoozed_until, status: conversation.status,
            created_at: conversation.created_at.to_i, updated_at: conversation.updated_at.to_f,
            timestamp: conversation.last_activity_at.to_i,
            first_reply_created_at: conversation.first_reply_created_at.to_i,
            last_activity_at: conversation.last_activity_at.to_i, priority: conversation.priority,
            waiting_since: conversation.waiting_since.to_i, sla_policy_id: conversation.sla_policy_id }
        end

        # Message#push_event_data without the nested conversation block.
        def push_event_data(message)
          message.attributes.symbolize_keys.merge(created_at: message.created_at.to_i,
                                                  message_type: message.message_type_before_type_cast,
                                                  conversation_id: message.conversation.display_id,
                                                  sender: message.sender&.push_event_data)
        end
      end
    end
  end
end
