# Upstream Messages::MessageBuilder (app/builders/messages/message_builder.rb, v4.10.1; the parts used here are
# unchanged to v4.16.2): message_type defaults to "outgoing"; "incoming" is refused outside API inboxes
# (StandardError "Incoming messages are only allowed in Api inboxes"); an outgoing message is sent by the
# user, any other by the conversation's contact; content, private (default false), content_type,
# content_attributes (a Hash, or JSON in a string), echo_id and source_id are taken from the params.
# Attachments, e-mail inboxes, templates, campaigns and agent-bot senders are not modelled.
module Messages
  class MessageBuilder
    def initialize(user, conversation, params)
      @params = params
      @private = params[:private] || false
      @conversation = conversation
      @user = user
      @message_type = params[:message_type] || 'outgoing'
    end

    def perform
      @message = @conversation.messages.build(message_params)
      @message.save!
      @message
    end

    private

    def content_attributes
      value = @params[:content_attributes]
      value = value.to_unsafe_h if value.respond_to?(:to_unsafe_h)
      return (JSON.parse(value) rescue {}) if value.is_a?(String) # rubocop:disable Style/RescueModifier
      return value if value.is_a?(Hash)

      {}
    end

    def message_type
      if @conversation.inbox.channel_type != 'Channel::Api' && @message_type == 'incoming'
        raise StandardError, 'Incoming messages are only allowed in Api inboxes'
      end

      @message_type
    end

    def sender
      message_type == 'outgoing' ? @user : @conversation.contact
    end

    def message_params
      { account_id: @conversation.account_id, inbox_id: @conversation.inbox_id, message_type: message_type,
        content: @params[:content], private: @private, sender: sender, content_type: @params[:content_type],
        content_attributes: content_attributes.presence, echo_id: @params[:echo_id], source_id: @params[:source_id] }
    end
  end
end
