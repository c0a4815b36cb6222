/* SPDX-License-Identifier: Apache-2.0
 *
 * Bounded BER-TLV walker: ISO/IEC 8825-1 §8.1.2-8.1.3 definite forms as SAIP profile packages
 * use them (PROTOCOL.md §8.1), with the limits and error offsets of src/m2mrsp/tlv.py. Every
 * read is preceded by a comparison of the bytes left with the bytes needed; a declared length is
 * compared with what is left inside the enclosing value before it is used.
 */
#include "m2m_native.h"

static int tlv_fault(m2m_fault *fault, uint32_t kind, size_t offset)
{
    fault->kind = kind;
    fault->detail = 0;
    fault->segment = 0;
    fault->offset = offset;
    return M2M_ERR_TLV;
}

int m2m_tlv_read_header(const uint8_t *buf, size_t pos, size_t end, m2m_tlv_head *head,
                        m2m_fault *fault)
{
    uint32_t tag;
    uint64_t length;
    size_t p, length_pos, count, i;
    uint8_t first;

    if (pos >= end)
        return tlv_fault(fault, M2M_TLV_TRUNCATED_TAG, pos);
    tag = buf[pos];
    p = pos + 1;
    if ((tag & 0x1F) == 0x1F) {
        for (;;) {
            uint8_t byte;

            if (p >= end)
                return tlv_fault(fault, M2M_TLV_TRUNCATED_TAG, pos);
            byte = buf[p++];
            tag = (tag << 8) | byte;
            if (!(byte & 0x80))
                break;
            if (p - pos >= M2M_TLV_MAX_TAG_OCTETS)
                return tlv_fault(fault, M2M_TLV_TAG_TOO_LONG, pos);
        }
    }

    if (p >= end)
        return tlv_fault(fault, M2M_TLV_TRUNCATED_LENGTH, p);
    length_pos = p;
    first = buf[p++];
    if (first < 0x80) {
        length = first;
    } else if (first == 0x80) {
        return tlv_fault(fault, M2M_TLV_INDEFINITE_LENGTH, length_pos);
    } else {
        count = first & 0x7Fu;
        if (count > M2M_TLV_MAX_LENGTH_OCTETS)
            return tlv_fault(fault, M2M_TLV_LENGTH_TOO_LONG, length_pos);
        if (count > end - p)
            return tlv_fault(fault, M2M_TLV_TRUNCATED_LENGTH, length_pos);
        length = 0;
        for (i = 0; i < count; i++)
            length = (length << 8) | buf[p + i];
        if (length < 0x80 || buf[p] == 0)
            return tlv_fault(fault, M2M_TLV_NON_MINIMAL_LENGTH, length_pos);
        p += count;
    }
    if (length > (uint64_t)(end - p))
        return tlv_fault(fault, M2M_TLV_VALUE_PAST_END, length_pos);

    head->tag = tag;
    head->tag_octets = (size_t)(length_pos - pos);
    head->value_offset = p;
    head->length = (size_t)length;
    return M2M_OK;
}

/* The end of the value of row index parent, or len at top level (parent -1). */
static size_t open_end(const m2m_tlv_row *rows, int64_t parent, size_t len)
{
    if (parent < 0)
        return len;
    return (size_t)rows[parent].value_offset + rows[parent].length;
}

int m2m_tlv_scan(const uint8_t *buf, size_t len, uint32_t max_depth, m2m_tlv_row *rows,
                 size_t rows_cap, size_t *rows_written, m2m_fault *fault)
{
    size_t n = 0, pos = 0, limit = len;
    int64_t parent = -1;
    uint32_t depth = 0;
    m2m_tlv_head head;
    int rc;

    if (rows_written == NULL || fault == NULL || (buf == NULL && len != 0)
        || (rows == NULL && rows_cap != 0) || len > UINT32_MAX)
        return M2M_ERR_ARG;
    *rows_written = 0;
    for (;;) {
        /* Close every constructed TLV whose value has been walked completely; the enclosing
         * TLVs are found through the parent column, so no separate stack is needed. */
        while (pos == limit) {
            if (parent < 0) {
                *rows_written = n;
                return M2M_OK;
            }
            parent = rows[parent].parent;
            depth--;
            limit = open_end(rows, parent, len);
        }
        if (depth >= max_depth)
            return tlv_fault(fault, M2M_TLV_TOO_DEEP, pos);
        rc = m2m_tlv_read_header(buf, pos, limit, &head, fault);
        if (rc != M2M_OK)
            return rc;
        if (n == rows_cap)
            return M2M_ERR_SPACE;
        rows[n].tag = head.tag;
        rows[n].header_offset = (uint32_t)pos;
        rows[n].value_offset = (uint32_t)head.value_offset;
        rows[n].length = (uint32_t)head.length;
        rows[n].depth = depth;
        rows[n].parent = (int32_t)parent;
        if (buf[pos] & 0x20) {
            parent = (int64_t)n;
            limit = head.value_offset + head.length;
            depth++;
            pos = head.value_offset;
        } else {
            pos = head.value_offset + head.length;
        }
        n++;
    }
}

int m2m_tlv_count(const uint8_t *buf, size_t len, size_t *count)
{
    size_t n = 0, pos = 0;
    m2m_tlv_head head;
    m2m_fault ignored;

    if (count == NULL || (buf == NULL && len != 0))
        return M2M_ERR_ARG;
    while (pos < len && m2m_tlv_read_header(buf, pos, len, &head, &ignored) == M2M_OK) {
        pos = head.value_offset + head.length;
        n++;
    }
    *count = n;
    return M2M_OK;
}
