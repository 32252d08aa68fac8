-- LrView: builds plain tables describing the view; bind_to_object and bind() are recorded so a test can see
-- which keys a dialog shows and set their values through the property table.
local LrView = {}
function LrView.bind(key) if type(key) == 'table' then return key end return { bind = key } end
function LrView.share(name) return { share = name } end
function LrView.osFactory()
  return setmetatable({}, { __index = function(_, kind)
    return function(self, args)
      args = args or {}
      args.kind = kind
      return args
    end
  end })
end
return LrView
