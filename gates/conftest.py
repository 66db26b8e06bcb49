"""Our example gate suite: it targets the embedded demo service unless --base-url is given.

Nothing here is special: the gates use only the public markers and fixtures, as a user's would.
"""
