# v4.16.0 (upstream db/migrate/20260630000000_add_sender_created_index_to_messages.rb, PR #14889): a
# (sender_type, sender_id, created_at) index on messages, built CONCURRENTLY outside a transaction. On a
# large messages table this is the slow step of the upgrade to v4.16, as it is upstream.
class AddSenderCreatedIndexToMessages < ActiveRecord::Migration[7.2]
  disable_ddl_transaction!

  def up
    add_index :messages, %i[sender_type sender_id created_at],
              name: 'index_messages_on_sender_and_created', algorithm: :concurrently, if_not_exists: true
  end

  def down
    remove_index :messages, name: 'index_messages_on_sender_and_created', algorithm: :concurrently, if_exists: true
  end
end
