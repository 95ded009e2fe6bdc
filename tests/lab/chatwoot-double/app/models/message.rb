# Upstream app/models/message.rb (v4.10.1; unchanged in these parts to v4.16.2):
#   - enums message_type incoming 0 / outgoing 1 / activity 2 / template 3, content_type (text 0, ...), status
#     sent 0 / delivered 1 / read 2 / failed 3; content at most 150,000 characters;
#   - prevent_message_flooding: at most CONVERSATION_MESSAGE_PER_MINUTE_LIMIT (default 200, lib/limits.rb)
#     messages per conversation in the last minute, else "Too many messages";
#   - processed_message_content = content truncated to 150,000 before save;
#   - the conversation is touched, and after commit its last_activity_at becomes the message's created_at;
#     an incoming message reopens a resolved or snoozed conversation (inbox without bot; the API inbox's open!).
#   Upstream's other after-commit work (events, ActionCable, SendReplyJob to the channel, search) is not here.
class Message < ApplicationRecord
  MAX_CONTENT_LENGTH = 150_000

  enum :message_type, { incoming: 0, outgoing: 1, activity: 2, template: 3 }
  enum :content_type, { text: 0, input_text: 1, input_textarea: 2, input_email: 3, input_select: 4, cards: 5,
                        form: 6, article: 7, incoming_email: 8, input_csat: 9, integrations: 10, sticker: 11,
                        voice_call: 12 }
  enum :status, { sent: 0, delivered: 1, read: 2, failed: 3 }

  # Upstream: a temporary id from the frontend, echoed back in the answer.
  attr_accessor :echo_id

  default_scope { order(created_at: :asc) }

  belongs_to :account
  belongs_to :inbox
  belongs_to :conversation, touch: true
  belongs_to :sender, polymorphic: true, optional: true

  before_validation :ensure_content_type
  before_validation :prevent_message_flooding
  before_save :ensure_processed_message_content

  validates :account_id, presence: true
  validates :inbox_id, presence: true
  validates :conversation_id, presence: true
  validates :content_type, presence: true
  validates :content, length: { maximum: MAX_CONTENT_LENGTH }
  validates :processed_message_content, length: { maximum: MAX_CONTENT_LENGTH }

  after_create_commit :execute_after_create_commit_callbacks

  def self.conversation_message_per_minute_limit
    ENV.fetch('CONVERSATION_MESSAGE_PER_MINUTE_LIMIT', '200').to_i
  end

  private

  def ensure_content_type
    self.content_type ||= Message.content_types[:text]
  end

  def prevent_message_flooding
    return if conversation.blank?
    return if conversation.messages.where('created_at >= ?', 1.minute.ago).count < Message.conversation_message_per_minute_limit

    Rails.logger.error "Too many message: Account Id - #{account_id} : Conversation id - #{conversation_id}"
    errors.add(:base, 'Too many messages')
  end

  def ensure_processed_message_content
    self.processed_message_content = content&.truncate(MAX_CONTENT_LENGTH)
  end

  def execute_after_create_commit_callbacks
    reopen_conversation
    conversation.update_columns(last_activity_at: created_at) # rubocop:disable Rails/SkipsModelValidations
  end

  def reopen_conversation
    return unless incoming?

    conversation.open! if conversation.snoozed? || conversation.resolved?
  end
end
