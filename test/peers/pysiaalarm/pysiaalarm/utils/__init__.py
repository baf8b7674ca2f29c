"""Init of pysiaalarm utils."""
from __future__ import annotations

from ..data.data import (
    SIACode,
    SIAXData,
    _load_adm_mapping,
    _load_sia_codes,
    _load_xdata,
)
from .counter import Counter
from .enums import CommunicationsProtocol, MessageTypes, ResponseType
from .regexes import MAIN_MATCHER, OH_MATCHER, _get_matcher
