module CustomExceptions
  module Account
    class InvalidEmail < CustomExceptions::Base
      def message
        "Invalid email address: #{@data[:email]}"
      end
    end

    class UserExists < CustomExceptions::Base
      def message
        "You have already signed up for an account with #{@data[:email]}"
      end
    end
  end
end
