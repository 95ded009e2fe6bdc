module CustomExceptions
  # Chatwoot's handled errors: a message and an HTTP status (403), rendered as {"message": ...}.
  class Base < StandardError
    def initialize(data = {})
      @data = data
      super(message)
    end

    def to_hash
      { message: message }
    end

    def http_status
      403
    end
  end
end
