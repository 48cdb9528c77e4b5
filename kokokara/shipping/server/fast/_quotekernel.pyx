# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False, nonecheck=False
"""The quote kernel: plain GetQuote and BatchGetQuotes requests from wire bytes to wire bytes, in C.

Most checkout requests ask for every method with no contents and no insurance. For those, Python's
QuoteEngine.quote_plain and wire.encode_plain cost 15-30 us a quote, which is most of a GetQuote and
all of a BatchGetQuotes (docs/performance.md). This module does the same work without Python
objects: it reads the request's wire bytes, prices each lane of a compiled plan (limit checks, a
bisection per parcel, sums) and writes the response's wire bytes.

It decides nothing of its own. kokokara/shipping/server/fast/fastquote.py compiles each destination's plan
from QuoteEngine.resolved(): the lanes, their tables, limits, refusals, the encoded lane heads
(wire.py) and the refusal sentences, rendered from the domain's own templates (rates/quote.py) with
markers where a parcel's numbers go. Any request it does not take exactly as Python would (another
method set, contents, insurance, dates, a field out of range, unknown wire types, a string that is
not plain ASCII) it hands back untouched: quote() returns None and the Python path answers, naming
bad fields as before. tests/server/test_quote_kernel.py checks that every answer is byte for byte the
Python path's.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdio cimport snprintf
from libc.string cimport memcmp, memcpy, memmove

cdef enum:
    MAX_PARCELS_CAP = 64  # scratch size; the contract's limit (servicers/rates.py) is configured below it
    MAX_METHODS = 8
    MAX_LANES = 2

# Set by configure(): the contract's limits and the encoding's constant pieces, from the Python side.
cdef int64_t MAX_PARCELS = 0, MAX_WEIGHT_G = 0, MAX_SIDE_MM = 0, MAX_VALUE_JPY = 0, MAX_POSTAL = 0
cdef uint64_t MERCHANDISE = 0  # the contents type the plans are compiled for (unspecified, 0, means it too)
cdef int R_OVER_WEIGHT = 0, R_OVER_SIZE = 0, R_UNDER_SIZE = 0, R_NO_RATE = 0, N_REASONS = 0
cdef bytes T_OPTIONS, T_WEIGHT, T_TOTAL, T_BREAKDOWN, T_COMP, T_POSTAGE, T_INSURANCE
cdef bytes T_PARCELS, T_P_WEIGHT, T_P_POSTAGE, T_P_INSURANCE, T_P_BRACKET, T_UNAVAILABLE
cdef bytes JPY_PIECE, T_UNITS, T_RESULTS, T_RESULT_RESPONSE, SEPARATOR
cdef tuple UNAVAILABLE_HEADS = ()
cdef bint CONFIGURED = False


def configure(dict tags, tuple unavailable_heads, int reasons, dict reason_index, dict limits, bytes separator):
    """Called once by fastquote.py with the tags read from the generated descriptors, the encoded
    (method, reason) heads of UnavailableMethod, reason numbers and the contract's limits."""
    global T_OPTIONS, T_WEIGHT, T_TOTAL, T_BREAKDOWN, T_COMP, T_POSTAGE, T_INSURANCE, T_PARCELS
    global T_P_WEIGHT, T_P_POSTAGE, T_P_INSURANCE, T_P_BRACKET, T_UNAVAILABLE, JPY_PIECE, T_UNITS
    global T_RESULTS, T_RESULT_RESPONSE, SEPARATOR, UNAVAILABLE_HEADS, N_REASONS, CONFIGURED
    global R_OVER_WEIGHT, R_OVER_SIZE, R_UNDER_SIZE, R_NO_RATE
    global MAX_PARCELS, MAX_WEIGHT_G, MAX_SIDE_MM, MAX_VALUE_JPY, MAX_POSTAL, MERCHANDISE
    T_OPTIONS, T_WEIGHT, T_TOTAL = tags["options"], tags["weight"], tags["total"]
    T_BREAKDOWN, T_COMP, T_POSTAGE, T_INSURANCE = tags["breakdown"], tags["compensation"], tags["postage"], tags["insurance"]
    T_PARCELS, T_P_WEIGHT, T_P_POSTAGE = tags["parcels"], tags["parcel_weight"], tags["parcel_postage"]
    T_P_INSURANCE, T_P_BRACKET, T_UNAVAILABLE = tags["parcel_insurance"], tags["parcel_bracket"], tags["unavailable"]
    JPY_PIECE, T_UNITS = tags["jpy"], tags["units"]
    T_RESULTS, T_RESULT_RESPONSE = tags["results"], tags["result_response"]
    SEPARATOR = separator
    UNAVAILABLE_HEADS = unavailable_heads
    N_REASONS = reasons
    R_OVER_WEIGHT, R_OVER_SIZE = reason_index["OVER_WEIGHT_LIMIT"], reason_index["OVER_SIZE_LIMIT"]
    R_UNDER_SIZE, R_NO_RATE = reason_index["UNDER_SIZE_LIMIT"], reason_index["NO_PUBLISHED_RATE"]
    if not 0 < limits["parcels"] <= MAX_PARCELS_CAP:
        raise ValueError("the parcel limit is above the kernel's scratch size")
    MAX_PARCELS, MAX_WEIGHT_G, MAX_SIDE_MM = limits["parcels"], limits["weight_g"], limits["side_mm"]
    MAX_VALUE_JPY, MAX_POSTAL = limits["value_jpy"], limits["postal_code"]
    MERCHANDISE = limits["merchandise"]
    CONFIGURED = True


# --- an output buffer ------------------------------------------------------------------------

cdef struct Buf:
    char* data
    Py_ssize_t size
    Py_ssize_t cap


cdef int grow(Buf* b, Py_ssize_t extra) except -1:
    cdef Py_ssize_t want = b.size + extra
    cdef Py_ssize_t cap = b.cap * 2 if b.cap else 4096
    cdef char* p
    while cap < want:
        cap *= 2
    p = <char*>PyMem_Realloc(b.data, cap)
    if p == NULL:
        raise MemoryError()
    b.data = p
    b.cap = cap
    return 0


cdef inline int put(Buf* b, const char* s, Py_ssize_t n) except -1:
    if b.size + n > b.cap:
        grow(b, n)
    memcpy(b.data + b.size, s, n)
    b.size += n
    return 0


cdef inline int put_bytes(Buf* b, bytes s) except -1:
    return put(b, PyBytes_AS_STRING(s), PyBytes_GET_SIZE(s))


cdef inline int varint_size(uint64_t v) noexcept:
    cdef int n = 1
    while v >= 0x80:
        v >>= 7
        n += 1
    return n


cdef inline void write_varint(char* p, uint64_t v) noexcept:
    while v >= 0x80:
        p[0] = <char>((v & 0x7F) | 0x80)
        p += 1
        v >>= 7
    p[0] = <char>v


cdef inline int put_varint(Buf* b, uint64_t v) except -1:
    cdef int n = varint_size(v)
    if b.size + n > b.cap:
        grow(b, n)
    write_varint(b.data + b.size, v)
    b.size += n
    return 0


cdef int close_len(Buf* b, Py_ssize_t start) except -1:
    """The bytes written since `start` become a length-delimited body: their length goes in front."""
    cdef Py_ssize_t n = b.size - start
    cdef int k = varint_size(<uint64_t>n)
    if b.size + k > b.cap:
        grow(b, k)
    memmove(b.data + start + k, b.data + start, n)
    write_varint(b.data + start, <uint64_t>n)
    b.size += k
    return 0


cdef int put_money(Buf* b, bytes tag, int64_t yen) except -1:
    # google.type.Money as wire.py's _money writes it: currency, then units unless zero
    put_bytes(b, tag)
    cdef Py_ssize_t start = b.size
    put_bytes(b, JPY_PIECE)
    if yen:
        put_bytes(b, T_UNITS)
        put_varint(b, <uint64_t>yen)
    return close_len(b, start)


# --- numbers as the domain words them (rates/quote.py _grams, _cm) -----------------------------

cdef int put_int(Buf* b, int64_t v) except -1:
    cdef char tmp[32]
    cdef int n = snprintf(tmp, 32, "%lld", <long long>v)
    return put(b, tmp, n)


cdef int put_grams(Buf* b, int64_t grams) except -1:
    # f"{grams / 1000:g} kg" or f"{grams} g": C's %g and Python's :g both give six significant
    # digits, correctly rounded (tests/server/test_quote_kernel.py checks the formats over their range)
    cdef char tmp[48]
    cdef int n
    if grams >= 1000:
        n = snprintf(tmp, 48, "%g kg", <double>grams / 1000.0)
    else:
        n = snprintf(tmp, 48, "%lld g", <long long>grams)
    return put(b, tmp, n)


cdef int put_cm(Buf* b, int64_t mm) except -1:
    cdef char tmp[48]
    cdef int n = snprintf(tmp, 48, "%g cm", <double>mm / 10.0)
    return put(b, tmp, n)


def wording(str unit, long long value):
    """The kernel's wording of a weight in grams (unit "g") or a length in millimetres ("mm"), for
    tests to compare with the domain's."""
    cdef Buf b = Buf(NULL, 0, 0)
    try:
        if unit == "g":
            put_grams(&b, value)
        elif unit == "mm":
            put_cm(&b, value)
        else:
            raise ValueError(unit)
        return PyBytes_FromStringAndSize(b.data, b.size).decode()
    finally:
        PyMem_Free(b.data)


# --- the compiled plan -----------------------------------------------------------------------

cdef class Template:
    """A refusal sentence with slots: literals[0], then for each code its value and literals[i + 1].
    Codes: i parcel index, w parcel weight, b billable weight, l length, x width, g length plus
    girth, s sum of sides (each worded as the domain words it), m a product's message."""

    cdef bytes codes
    cdef tuple literals

    def __init__(self, bytes codes, tuple literals):
        if len(literals) != len(codes) + 1 or not all(type(x) is bytes for x in literals):
            raise ValueError("a template has one literal more than it has slots")
        self.codes, self.literals = codes, literals


cdef struct Box:
    int64_t grams
    int64_t a
    int64_t b
    int64_t c


cdef int fill(Buf* out, Template t, int64_t index, Box* box, int64_t billable, const char* message, Py_ssize_t message_len) except -1:
    cdef const char* codes = PyBytes_AS_STRING(t.codes)
    cdef Py_ssize_t i, n = PyBytes_GET_SIZE(t.codes)
    put_bytes(out, <bytes>t.literals[0])
    for i in range(n):
        code = codes[i]
        if code == b"i":
            put_int(out, index)
        elif code == b"w":
            put_grams(out, box.grams)
        elif code == b"b":
            put_grams(out, billable)
        elif code == b"l":
            put_cm(out, box.a)
        elif code == b"x":
            put_cm(out, box.b)
        elif code == b"g":
            put_cm(out, box.a + 2 * (box.b + box.c))
        elif code == b"s":
            put_cm(out, box.a + box.b + box.c)
        elif code == b"m":
            put(out, message, message_len)
        else:
            raise ValueError("unknown template slot")
        put_bytes(out, <bytes>t.literals[i + 1])
    return 0


cdef int64_t* int_array(object values, Py_ssize_t* count) except NULL:
    cdef Py_ssize_t n = len(values), i
    cdef int64_t* p = <int64_t*>PyMem_Realloc(NULL, sizeof(int64_t) * (n if n else 1))
    if p == NULL:
        raise MemoryError()
    for i in range(n):
        p[i] = values[i]
    count[0] = n
    return p


cdef inline Py_ssize_t bisect_left(int64_t* a, Py_ssize_t n, int64_t x) noexcept:
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef class Lane:
    """One product for one destination on one ship date, as fastquote.compile_lane gives it."""

    cdef bint closed, contract, has_limit, late, each_none, tracked
    cdef int closed_reason, late_reason
    cdef bytes closed_message, late_message, head
    cdef int64_t divisor, each
    cdef int64_t max_weight, max_length, max_lpg, max_sum, min_length, min_width  # -1: none
    cdef int64_t* max_weights
    cdef int64_t* prices
    cdef int64_t* uninsured_max
    cdef int64_t* uninsured_prices
    cdef Py_ssize_t n, n_uninsured
    cdef Template t_weight, t_length, t_girth, t_sides, t_under, t_past, t_contract, t_combined

    def __cinit__(self):
        self.max_weights = self.prices = self.uninsured_max = self.uninsured_prices = NULL

    def __dealloc__(self):
        PyMem_Free(self.max_weights)
        PyMem_Free(self.prices)
        PyMem_Free(self.uninsured_max)
        PyMem_Free(self.uninsured_prices)

    def __init__(self, dict spec):
        cdef Py_ssize_t n
        self.tracked = spec["tracked"]
        self.t_combined = spec["combined"]
        closed = spec.get("closed")
        self.closed = closed is not None
        if self.closed:
            self.closed_reason, self.closed_message = closed
            return
        self.head = spec["head"]
        contract = spec.get("contract")
        self.contract = contract is not None
        if self.contract:
            max_weights, prices, self.divisor, self.t_contract = contract
            self.max_weights = int_array(max_weights, &self.n)
            self.prices = int_array(prices, &n)
            if n != self.n or self.divisor <= 0:
                raise ValueError("a contract lane needs a price for each bracket and a positive divisor")
            return
        limit = spec.get("limit")
        self.has_limit = limit is not None
        if self.has_limit:
            bounds, templates = limit
            self.max_weight, self.max_length, self.max_lpg, self.max_sum, self.min_length, self.min_width = bounds
            self.t_weight, self.t_length, self.t_girth, self.t_sides, self.t_under = templates
        late = spec.get("refusal")
        self.late = late is not None
        if self.late:
            self.late_reason, self.late_message = late
            return
        max_weights, prices, self.t_past = spec["brackets"]
        self.max_weights = int_array(max_weights, &self.n)
        self.prices = int_array(prices, &n)
        if n != self.n:
            raise ValueError("a lane needs a price for each bracket")
        each = spec["each"]
        self.each_none = each is None
        if self.each_none:
            uninsured = spec.get("uninsured")
            if uninsured is not None:
                self.uninsured_max = int_array(uninsured[0], &self.n_uninsured)
                self.uninsured_prices = int_array(uninsured[1], &n)
                if n != self.n_uninsured:
                    raise ValueError("uninsured compensation needs an amount for each bracket")
        else:
            self.each = each


cdef class MethodPlan:
    cdef int method, rank
    cdef object fixed  # the encoded UnavailableMethod when no cart can change it, else None
    cdef tuple lanes

    def __init__(self, int method, int rank, fixed, tuple lanes):
        if fixed is None and not 0 < len(lanes) <= MAX_LANES:
            raise ValueError("a method has one or two lanes")
        if fixed is not None and type(fixed) is not bytes:
            raise TypeError("fixed must be bytes")
        if not all(type(x) is Lane for x in lanes):
            raise TypeError("lanes must be Lane objects")
        self.method, self.rank, self.fixed, self.lanes = method, rank, fixed, lanes


cdef class Plan:
    """Every method for one destination, in the engine's order, and the encoded region field."""

    cdef bytes region
    cdef tuple methods

    def __init__(self, bytes region, tuple methods):
        if not 0 < len(methods) <= MAX_METHODS or not all(type(x) is MethodPlan for x in methods):
            raise ValueError("a plan has one to eight MethodPlan objects")
        self.region, self.methods = region, methods


# --- reading the request ---------------------------------------------------------------------

cdef inline bint read_varint(const uint8_t** pp, const uint8_t* end, uint64_t* out) noexcept:
    cdef const uint8_t* p = pp[0]
    cdef uint64_t v = 0
    cdef int shift = 0
    cdef uint8_t byte
    while p < end and shift < 64:
        byte = p[0]
        p += 1
        if shift == 63 and byte > 1:
            return False  # past 64 bits: whatever protobuf makes of it, the Python path decides
        v |= (<uint64_t>(byte & 0x7F)) << shift
        if byte < 0x80:
            pp[0] = p
            out[0] = v
            return True
        shift += 7
    return False


cdef inline bint skip_field(const uint8_t** pp, const uint8_t* end, int wire_type) noexcept:
    cdef uint64_t v
    if wire_type == 0:
        return read_varint(pp, end, &v)
    if wire_type == 1:
        if end - pp[0] < 8:
            return False
        pp[0] += 8
        return True
    if wire_type == 2:
        if not read_varint(pp, end, &v) or v > <uint64_t>(end - pp[0]):
            return False
        pp[0] += v
        return True
    if wire_type == 5:
        if end - pp[0] < 4:
            return False
        pp[0] += 4
        return True
    return False  # groups and invalid wire types: the Python path decides


cdef inline bint read_tag(const uint8_t** pp, const uint8_t* end, uint64_t* field, int* wire_type) noexcept:
    cdef uint64_t tag
    if not read_varint(pp, end, &tag) or tag > 0xFFFFFFFF or (tag >> 3) == 0:
        return False
    field[0] = tag >> 3
    wire_type[0] = tag & 7
    return True


cdef inline bint read_len(const uint8_t** pp, const uint8_t* end, const uint8_t** body, const uint8_t** body_end) noexcept:
    cdef uint64_t n
    if not read_varint(pp, end, &n) or n > <uint64_t>(end - pp[0]):
        return False
    body[0] = pp[0]
    body_end[0] = pp[0] + n
    pp[0] += n
    return True


cdef bint read_parcel(const uint8_t* p, const uint8_t* end, Box* box) noexcept:
    """A Parcel within the contract's plain checks (servicers/rates.py plain_request), sides
    sorted longest first; False for anything else."""
    cdef uint64_t field, v
    cdef int wt
    cdef int64_t values[5]
    cdef int64_t t
    values[1] = values[2] = values[3] = values[4] = 0
    while p < end:
        if not read_tag(&p, end, &field, &wt):
            return False
        if 1 <= field <= 4:
            if wt != 0 or not read_varint(&p, end, &v):
                return False
            values[field] = <int64_t>v  # int64: two's complement, last one wins
        elif not skip_field(&p, end, wt):
            return False
    cdef int64_t g = values[1], a = values[2], b = values[3], c = values[4]
    if not 0 < g <= MAX_WEIGHT_G:
        return False
    if a or b or c:
        if not (0 < a <= MAX_SIDE_MM and 0 < b <= MAX_SIDE_MM and 0 < c <= MAX_SIDE_MM):
            return False
        if a < b:
            t = a; a = b; b = t
        if b < c:
            t = b; b = c; c = t
        if a < b:
            t = a; a = b; b = t
    box.grams, box.a, box.b, box.c = g, a, b, c
    return True


cdef bint read_money(const uint8_t* p, const uint8_t* end) noexcept:
    """A declared value the plain path accepts: JPY, no nanos, units within the contract."""
    cdef uint64_t field, v
    cdef int wt
    cdef const uint8_t* currency = NULL
    cdef const uint8_t* currency_end = NULL
    cdef int64_t units = 0
    cdef int32_t nanos = 0
    while p < end:
        if not read_tag(&p, end, &field, &wt):
            return False
        if field == 1:
            if wt != 2 or not read_len(&p, end, &currency, &currency_end):
                return False
        elif field == 2:
            if wt != 0 or not read_varint(&p, end, &v):
                return False
            units = <int64_t>v
        elif field == 3:
            if wt != 0 or not read_varint(&p, end, &v):
                return False
            nanos = <int32_t>v
        elif not skip_field(&p, end, wt):
            return False
    if currency == NULL or currency_end - currency != 3 or memcmp(currency, b"JPY", 3) != 0:
        return False
    return nanos == 0 and 0 <= units <= MAX_VALUE_JPY


cdef struct Request:
    const uint8_t* region
    Py_ssize_t region_len
    int n
    Box boxes[MAX_PARCELS_CAP]


cdef bint read_request(const uint8_t* p, const uint8_t* end, Request* r) noexcept:
    """A GetQuoteRequest the kernel takes: every method, merchandise, no contents, no insurance, no
    dates, parcels and a declared value within the contract's checks. False for anything else."""
    cdef uint64_t field, v
    cdef int wt
    cdef const uint8_t* body
    cdef const uint8_t* body_end
    cdef bint insure = False, seen_postal = False, seen_value = False
    r.region = NULL
    r.n = 0
    while p < end:
        if not read_tag(&p, end, &field, &wt):
            return False
        if field == 1:  # destination_region_code
            if wt != 2 or r.region != NULL or not read_len(&p, end, &body, &body_end):
                return False
            r.region, r.region_len = body, body_end - body
        elif field == 2:  # postal_code: at most the contract's length, ASCII (so bytes are characters)
            if wt != 2 or seen_postal or not read_len(&p, end, &body, &body_end) or body_end - body > MAX_POSTAL:
                return False
            seen_postal = True
            while body < body_end:
                if body[0] >= 0x80:
                    return False
                body += 1
        elif field == 3:  # parcels
            if wt != 2 or r.n >= MAX_PARCELS or not read_len(&p, end, &body, &body_end):
                return False
            if not read_parcel(body, body_end, &r.boxes[r.n]):
                return False
            r.n += 1
        elif field == 6:  # declared_value: checked, not used without insurance
            if wt != 2 or seen_value or not read_len(&p, end, &body, &body_end) or not read_money(body, body_end):
                return False
            seen_value = True
        elif field == 7:  # insure
            if wt != 0 or not read_varint(&p, end, &v):
                return False
            insure = v != 0
        elif 4 <= field <= 9:  # methods, contents, ship_date, order_date
            return False
        elif field == 10:  # contents_type: the plans are merchandise's; any other type is Python's
            if wt != 0 or not read_varint(&p, end, &v) or (v != 0 and v != MERCHANDISE):
                return False
        elif not skip_field(&p, end, wt):
            return False
    return r.region != NULL and r.n > 0 and not insure


# --- pricing ---------------------------------------------------------------------------------

cdef struct Priced:
    int64_t total
    int64_t weight
    int64_t compensation
    int rank
    int slot  # which lane's scratch holds its parcels
    void* lane  # borrowed: the plan keeps it alive


cdef struct Scratch:
    int64_t grams[MAX_METHODS * MAX_LANES][MAX_PARCELS_CAP]
    int64_t price[MAX_METHODS * MAX_LANES][MAX_PARCELS_CAP]
    int64_t top[MAX_METHODS * MAX_LANES][MAX_PARCELS_CAP]


cdef int check_limit(Lane lane, Box* box) noexcept:
    """rates.quote._check_limit: which limit a parcel breaks first (1-5), or 0."""
    cdef int64_t a = box.a, b = box.b, c = box.c
    if box.grams > lane.max_weight:
        return 1
    if not a:
        return 0
    if lane.max_length >= 0 and a > lane.max_length:
        return 2
    if lane.max_lpg >= 0 and a + 2 * (b + c) > lane.max_lpg:
        return 3
    if lane.max_sum >= 0 and a + b + c > lane.max_sum:
        return 4
    if (lane.min_length >= 0 and a < lane.min_length) or (lane.min_width >= 0 and b < lane.min_width):
        return 5
    return 0


cdef int price_lane(Lane lane, Request* r, int slot, Scratch* s, Priced* out, Buf* messages, int* reason) except -1:
    """rates.quote._price_plain: 1 and `out` for an option, or 0 with the refusal's reason and its
    message appended to `messages`."""
    cdef int i, kind
    cdef Py_ssize_t j
    cdef int64_t g, billable, postage = 0, weight = 0, compensation = 0, volume
    cdef Box* box
    if lane.closed:
        reason[0] = lane.closed_reason
        put_bytes(messages, lane.closed_message)
        return 0
    if lane.contract:
        for i in range(r.n):
            box = &r.boxes[i]
            billable = box.grams
            if box.a:
                volume = box.a * box.b * box.c
                volume = (volume + lane.divisor - 1) // lane.divisor
                if volume > billable:
                    billable = volume
            j = bisect_left(lane.max_weights, lane.n, billable)
            if j == lane.n:
                reason[0] = R_OVER_WEIGHT
                fill(messages, lane.t_contract, i, box, billable, NULL, 0)
                return 0
            s.grams[slot][i], s.price[slot][i], s.top[slot][i] = billable, lane.prices[j], lane.max_weights[j]
            postage += lane.prices[j]
            weight += billable
        out.total, out.weight, out.compensation = postage, weight, 0
        return 1
    if lane.has_limit:
        for i in range(r.n):
            box = &r.boxes[i]
            kind = check_limit(lane, box)
            if kind:
                if kind == 1:
                    reason[0] = R_OVER_WEIGHT
                    fill(messages, lane.t_weight, i, box, 0, NULL, 0)
                elif kind == 5:
                    reason[0] = R_UNDER_SIZE
                    fill(messages, lane.t_under, i, box, 0, NULL, 0)
                else:
                    reason[0] = R_OVER_SIZE
                    fill(messages, lane.t_length if kind == 2 else lane.t_girth if kind == 3 else lane.t_sides, i, box, 0, NULL, 0)
                return 0
    if lane.late:
        reason[0] = lane.late_reason
        put_bytes(messages, lane.late_message)
        return 0
    for i in range(r.n):
        box = &r.boxes[i]
        g = box.grams
        j = bisect_left(lane.max_weights, lane.n, g)
        if j == lane.n:
            reason[0] = R_NO_RATE
            fill(messages, lane.t_past, i, box, 0, NULL, 0)
            return 0
        s.grams[slot][i], s.price[slot][i], s.top[slot][i] = g, lane.prices[j], lane.max_weights[j]
        postage += lane.prices[j]
        weight += g
        if not lane.each_none:
            compensation += lane.each
        elif lane.uninsured_max != NULL:
            j = bisect_left(lane.uninsured_max, lane.n_uninsured, g)
            if j < lane.n_uninsured:
                compensation += lane.uninsured_prices[j]
    out.total, out.weight, out.compensation = postage, weight, compensation
    return 1


cdef struct Refused:
    int method
    int reason
    Py_ssize_t start  # the message, in the messages buffer
    Py_ssize_t end
    void* fixed  # borrowed bytes: the whole encoded entry, or NULL


cdef int answer(Plan plan, Request* r, Buf* out) except -1:
    """Writes the GetQuoteResponse for a request read by read_request."""
    cdef Scratch s
    cdef Priced options[MAX_METHODS]
    cdef Priced candidates[MAX_LANES]
    cdef Refused refused[MAX_METHODS]
    cdef int reasons[MAX_LANES]
    cdef Py_ssize_t starts[MAX_LANES]
    cdef Py_ssize_t ends[MAX_LANES]
    cdef int n_options = 0, n_refused = 0, m, k, best, n_lanes, slot, i
    cdef Priced tmp
    cdef Buf messages = Buf(NULL, 0, 0)
    cdef MethodPlan method
    cdef Lane lane, other
    cdef Py_ssize_t start, combined
    try:
        for m in range(len(plan.methods)):
            method = <MethodPlan>plan.methods[m]
            if method.fixed is not None:
                refused[n_refused].fixed = <void*>method.fixed
                n_refused += 1
                continue
            n_lanes = len(method.lanes)
            best = -1
            for k in range(n_lanes):
                lane = <Lane>method.lanes[k]
                slot = m * MAX_LANES + k
                starts[k] = messages.size
                if price_lane(lane, r, slot, &s, &candidates[k], &messages, &reasons[k]):
                    candidates[k].slot, candidates[k].rank, candidates[k].lane = slot, method.rank, <void*>lane
                    if best < 0:
                        best = k
                    else:
                        other = <Lane>method.lanes[best]
                        if candidates[k].total < candidates[best].total or (
                            candidates[k].total == candidates[best].total and lane.tracked and not other.tracked
                        ):
                            best = k
                ends[k] = messages.size
            if best >= 0:
                options[n_options] = candidates[best]
                n_options += 1
                continue
            refused[n_refused].fixed = NULL
            refused[n_refused].method = method.method
            refused[n_refused].reason = reasons[n_lanes - 1]
            if n_lanes == 1:
                refused[n_refused].start, refused[n_refused].end = starts[0], ends[0]
            else:  # rates.quote._combine: each product's reason, named and joined
                combined = messages.size
                for k in range(n_lanes):
                    if k:
                        put_bytes(&messages, SEPARATOR)
                    # the message may move as the buffer grows: copy through an offset, not a pointer
                    fill_combined(&messages, (<Lane>method.lanes[k]).t_combined, starts[k], ends[k])
                refused[n_refused].start, refused[n_refused].end = combined, messages.size
            n_refused += 1

        # cheapest first, then by the method's name, as sorting PlainOption tuples does
        for i in range(1, n_options):
            tmp = options[i]
            k = i - 1
            while k >= 0 and (options[k].total > tmp.total or (options[k].total == tmp.total and options[k].rank > tmp.rank)):
                options[k + 1] = options[k]
                k -= 1
            options[k + 1] = tmp

        put_bytes(out, plan.region)
        for i in range(n_options):
            encode_option(out, &options[i], &s, r.n)
        for i in range(n_refused):
            if refused[i].fixed != NULL:
                put_bytes(out, <bytes>refused[i].fixed)
                continue
            put_bytes(out, T_UNAVAILABLE)
            start = out.size
            put_bytes(out, <bytes>UNAVAILABLE_HEADS[refused[i].method * N_REASONS + refused[i].reason])
            put_varint(out, <uint64_t>(refused[i].end - refused[i].start))
            put(out, messages.data + refused[i].start, refused[i].end - refused[i].start)
            close_len(out, start)
    finally:
        PyMem_Free(messages.data)
    return 0


cdef int fill_combined(Buf* messages, Template t, Py_ssize_t start, Py_ssize_t end) except -1:
    # The product's message is copied out first: filling appends to the buffer it lives in.
    cdef bytes message = PyBytes_FromStringAndSize(messages.data + start, end - start)
    return fill(messages, t, 0, NULL, 0, PyBytes_AS_STRING(message), end - start)


cdef int encode_option(Buf* out, Priced* o, Scratch* s, int n) except -1:
    """A QuoteOption as wire.encode_plain writes it: head, price fields, weight, parcels."""
    cdef Lane lane = <Lane>o.lane
    cdef Py_ssize_t start, inner, body
    cdef int i, slot = o.slot
    put_bytes(out, T_OPTIONS)
    start = out.size
    put_bytes(out, lane.head)
    put_money(out, T_TOTAL, o.total)
    put_bytes(out, T_BREAKDOWN)
    inner = out.size
    put_money(out, T_POSTAGE, o.total)
    put_money(out, T_INSURANCE, 0)
    close_len(out, inner)
    put_money(out, T_COMP, o.compensation)
    put_bytes(out, T_WEIGHT)
    put_varint(out, <uint64_t>o.weight)
    for i in range(n):
        put_bytes(out, T_PARCELS)
        body = out.size
        put_bytes(out, T_P_WEIGHT)
        put_varint(out, <uint64_t>s.grams[slot][i])
        put_money(out, T_P_POSTAGE, s.price[slot][i])
        put_money(out, T_P_INSURANCE, 0)
        put_bytes(out, T_P_BRACKET)
        put_varint(out, <uint64_t>s.top[slot][i])
        close_len(out, body)
    return close_len(out, start)


cdef Plan plan_for(Request* r, dict plans, object resolve):
    cdef bytes region = PyBytes_FromStringAndSize(<const char*>r.region, r.region_len)
    found = plans.get(region, False)
    if found is False:
        found = resolve(region)  # compiles and remembers the plan, or says there is none (None)
    if found is None:
        return None
    return <Plan?>found


# --- entry points ----------------------------------------------------------------------------

def quote(bytes data, dict plans, object resolve):
    """The serialised GetQuoteResponse for a serialised GetQuoteRequest, or None when the request
    is not one this kernel takes (the Python path then answers it). `plans` maps region codes
    (bytes) to compiled plans; `resolve(region)` compiles a missing one or returns None."""
    cdef Request r
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef Buf out = Buf(NULL, 0, 0)
    cdef Plan plan
    if not CONFIGURED:
        raise RuntimeError("configure() first")
    if not read_request(p, p + PyBytes_GET_SIZE(data), &r):
        return None
    plan = plan_for(&r, plans, resolve)
    if plan is None:
        return None
    try:
        answer(plan, &r, &out)
        return PyBytes_FromStringAndSize(out.data, out.size)
    finally:
        PyMem_Free(out.data)


def quote_batch(bytes data, dict plans, object resolve, object fallback, object check_deadline, int max_batch):
    """The serialised BatchGetQuotesResponse for a serialised BatchGetQuotesRequest: each request
    this kernel takes is answered here, every other one by `fallback(request_bytes)`, which returns
    the encoded results entry (answer or error). `check_deadline()` is called every 64 requests, as
    the Python path does. None when the batch itself is malformed, empty or too large: the Python
    path then gives the error."""
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef const uint8_t* end = p + PyBytes_GET_SIZE(data)
    cdef const uint8_t* scan = p
    cdef const uint8_t* body
    cdef const uint8_t* body_end
    cdef uint64_t field
    cdef int wt
    cdef Py_ssize_t count = 0, index = 0, outer, inner
    cdef Request r
    cdef Buf out = Buf(NULL, 0, 0)
    cdef Plan plan
    if not CONFIGURED:
        raise RuntimeError("configure() first")
    while scan < end:  # the batch's own framing first: count the requests, reject what is malformed
        if not read_tag(&scan, end, &field, &wt):
            return None
        if field == 1:
            if wt != 2 or not read_len(&scan, end, &body, &body_end):
                return None
            count += 1
        elif not skip_field(&scan, end, wt):
            return None
    if count == 0 or count > max_batch:
        return None
    try:
        while p < end:
            read_tag(&p, end, &field, &wt)
            if field != 1:
                skip_field(&p, end, wt)
                continue
            read_len(&p, end, &body, &body_end)
            if index % 64 == 63:
                check_deadline()
            index += 1
            plan = plan_for(&r, plans, resolve) if read_request(body, body_end, &r) else None
            if plan is None:
                put_bytes(&out, <bytes?>fallback(PyBytes_FromStringAndSize(<const char*>body, body_end - body)))
                continue
            put_bytes(&out, T_RESULTS)
            outer = out.size
            put_bytes(&out, T_RESULT_RESPONSE)
            inner = out.size
            answer(plan, &r, &out)
            close_len(&out, inner)
            close_len(&out, outer)
        return PyBytes_FromStringAndSize(out.data, out.size)
    finally:
        PyMem_Free(out.data)
