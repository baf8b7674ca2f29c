"""Init for aio."""
from .. import (
    CommunicationsProtocol,
    InvalidAccountFormatError,
    InvalidAccountLengthError,
    InvalidKeyFormatError,
    InvalidKeyLengthError,
    SIAAccount,
    SIAEvent,
    __author__,
    __copyright__,
    __license__,
    __version__,
)
from .client import SIAClient
