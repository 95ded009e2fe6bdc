module CustomExceptions
  class Base < StandardError
    def initialize(data = {})
      @data = data
      super(message)
    end

    def http_status
      403
    end
  end
end
