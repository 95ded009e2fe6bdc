# Chatwoot v4's captain migration: from here on pgvector is mandatory. The rescue turns Postgres'
# "extension is not available" into Chatwoot's own message, which is what operators search for.
class CreateCaptainTables < ActiveRecord::Migration[7.2]
  def up
    setup_vector_extension

    create_table :article_embeddings do |t|
      t.bigint :article_id, null: false
      t.text :term, null: false
      t.column :embedding, 'vector(1536)', null: false
      t.timestamps
    end
    add_index :article_embeddings, :embedding, using: :ivfflat, opclass: :vector_l2_ops

    create_table :captain_assistant_responses do |t|
      t.string :question, null: false
      t.text :answer, null: false
      t.column :embedding, 'vector(1536)'
      t.bigint :assistant_id, null: false
      t.bigint :account_id, null: false
      t.timestamps
    end
    add_index :captain_assistant_responses, :embedding, using: :ivfflat, opclass: :vector_l2_ops
  end

  def down
    drop_table :captain_assistant_responses
    drop_table :article_embeddings
  end

  private

  def setup_vector_extension
    return if extension_enabled?('vector')

    begin
      enable_extension 'vector'
    rescue ActiveRecord::StatementInvalid
      raise StandardError, "Failed to enable 'vector' extension. Read more at https://chwt.app/v4/migration"
    end
  end
end
