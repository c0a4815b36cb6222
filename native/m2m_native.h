/* SPDX-License-Identifier: Apache-2.0
 *
 * m2mrsp native hot path: SCP03t segment protection (SGP.02 §4.1.3.3, GP Amd D §6.2) over
 * OpenSSL EVP, and a bounded BER-TLV walker (ISO/IEC 8825-1 definite forms) for SAIP profile
 * packages. The Python twins in src/m2mrsp/hotpath/ define the behaviour byte for byte.
 *
 * Conventions: every function returns M2M_OK or one M2M_ERR_* code below; every input is a
 * (const uint8_t *, size_t) pair; every output is (pointer, capacity, size_t *written); offsets
 * of failures come back through an m2m_fault.
 */
#ifndef M2M_NATIVE_H
#define M2M_NATIVE_H

#include <stddef.h>
#include <stdint.h>

/* Return codes: the only values a function of this library returns. */
#define M2M_OK 0
#define M2M_ERR_ARG (-1)     /* an argument outside its range, or a NULL pointer */
#define M2M_ERR_SPACE (-2)   /* an output capacity is too small; nothing was written */
#define M2M_ERR_TLV (-3)     /* malformed BER-TLV: fault.kind is an M2M_TLV_* value */
#define M2M_ERR_SCP (-4)     /* an SCP03t check failed: fault.kind is an M2M_SCP_* value */
#define M2M_ERR_COUNTER (-5) /* the 16-byte encryption counter would wrap around */
#define M2M_ERR_CRYPTO (-6)  /* libcrypto reported a failure */
#define M2M_ERR_NOMEM (-7)   /* an allocation failed */

/* BER-TLV fault kinds: the values of m2mrsp.errors.TlvErrorKind. */
#define M2M_TLV_TRUNCATED_TAG 1
#define M2M_TLV_TAG_TOO_LONG 2
#define M2M_TLV_TRUNCATED_LENGTH 3
#define M2M_TLV_INDEFINITE_LENGTH 4
#define M2M_TLV_LENGTH_TOO_LONG 5
#define M2M_TLV_NON_MINIMAL_LENGTH 6
#define M2M_TLV_VALUE_PAST_END 7
#define M2M_TLV_TOO_DEEP 8
#define M2M_TLV_TRAILING_BYTES 9

/* SCP03t fault kinds: the values of m2mrsp.errors.ScpErrorKind. */
#define M2M_SCP_MALFORMED_TLV 1
#define M2M_SCP_WRONG_TAG 2
#define M2M_SCP_BAD_LENGTH 3
#define M2M_SCP_SEGMENT_TOO_LARGE 4
#define M2M_SCP_MAC_MISMATCH 5
#define M2M_SCP_BAD_PADDING 6

/* Limits shared with src/m2mrsp/tlv.py and src/m2mrsp/hotpath/types.py. */
#define M2M_TLV_MAX_TAG_OCTETS 3
#define M2M_TLV_MAX_LENGTH_OCTETS 4
#define M2M_BLOCK 16
#define M2M_MAC_LENGTH 8
#define M2M_MAX_SEGMENT_TLV 1020
#define M2M_MAX_SEGMENT_PLAINTEXT 1007
#define M2M_STATE_SIZE 32

/* Where and why a buffer was rejected. detail: for M2M_SCP_MALFORMED_TLV the M2M_TLV_* kind
 * behind it, for M2M_SCP_WRONG_TAG the tag found, else 0. */
typedef struct m2m_fault {
    uint32_t kind;
    uint32_t detail;
    size_t segment;
    size_t offset;
} m2m_fault;

/* One row of the TLV table; the layout of m2mrsp.hotpath.types.TLV_TABLE_DTYPE. */
typedef struct m2m_tlv_row {
    uint32_t tag;
    uint32_t header_offset;
    uint32_t value_offset;
    uint32_t length;
    uint32_t depth;
    int32_t parent;
} m2m_tlv_row;

/* SCP03t session state, owned by the caller: MCV, then the counter as 16 big-endian bytes.
 * Functions take it as M2M_STATE_SIZE input bytes in this layout and hand the next one back. */
typedef struct m2m_scp_state {
    uint8_t mcv[M2M_BLOCK];
    uint8_t counter[M2M_BLOCK];
} m2m_scp_state;

/* Open AES contexts under one set of session keys (opaque). */
typedef struct m2m_scp m2m_scp;

/* -- BER-TLV (bertlv.c) ----------------------------------------------------------------- */

int m2m_tlv_scan(const uint8_t *buf, size_t len, uint32_t max_depth, m2m_tlv_row *rows,
                 size_t rows_cap, size_t *rows_written, m2m_fault *fault);
int m2m_tlv_count(const uint8_t *buf, size_t len, size_t *count);

/* -- SCP03t (scp03t.c) ------------------------------------------------------------------ */

int m2m_scp_new(const uint8_t *s_enc, size_t s_enc_len, const uint8_t *s_mac, size_t s_mac_len,
                const uint8_t *s_rmac, size_t s_rmac_len, m2m_scp **scp);
void m2m_scp_free(m2m_scp *scp);

int m2m_scp03t_wrap_segment(m2m_scp *scp, const uint8_t *state, size_t state_len,
                            const uint8_t *data, size_t data_len, uint32_t tag, uint8_t *out,
                            size_t out_cap, size_t *out_written, m2m_scp_state *next);
int m2m_scp03t_wrap_all(m2m_scp *scp, const uint8_t *state, size_t state_len,
                        const uint8_t *data, size_t data_len, size_t segment_size, uint32_t tag,
                        uint8_t *out, size_t out_cap, size_t *out_written, uint8_t *mcvs,
                        size_t mcvs_cap, size_t *segments, m2m_scp_state *next);
int m2m_scp03t_unwrap_segment(m2m_scp *scp, const uint8_t *state, size_t state_len,
                              const uint8_t *tlv, size_t tlv_len, uint32_t tag, uint8_t *out,
                              size_t out_cap, size_t *out_written, m2m_scp_state *next,
                              m2m_fault *fault);
int m2m_scp03t_unwrap_all(m2m_scp *scp, const uint8_t *state, size_t state_len,
                          const uint8_t *tlvs, size_t tlvs_len, uint32_t tag, uint8_t *out,
                          size_t out_cap, size_t *ends, uint8_t *mcvs, size_t max_segments,
                          size_t *segments, m2m_scp_state *next, m2m_fault *fault);
int m2m_scp03t_wrap_response(m2m_scp *scp, const uint8_t *state, size_t state_len,
                             const uint8_t *data, size_t data_len, uint32_t tag, uint8_t *out,
                             size_t out_cap, size_t *out_written);
int m2m_scp03t_unwrap_response(m2m_scp *scp, const uint8_t *state, size_t state_len,
                               const uint8_t *tlv, size_t tlv_len, uint32_t tag, uint8_t *out,
                               size_t out_cap, size_t *out_written, m2m_fault *fault);

/* -- build details (buildinfo.c) -------------------------------------------------------- */

const char *m2m_openssl_build_version(void);
const char *m2m_openssl_runtime_version(void);
const char *m2m_build_compiler(void);
const char *m2m_build_flags(void);

/* -- shared by the C units, not exported to Python ------------------------------------- */

typedef struct m2m_tlv_head {
    uint32_t tag;
    size_t tag_octets;
    size_t value_offset;
    size_t length;
} m2m_tlv_head;

/* Tag and length of the TLV at pos within buf[0:end] (end <= the buffer's length); the value
 * is known to fit before end. On M2M_ERR_TLV, fault->kind and fault->offset are set. */
int m2m_tlv_read_header(const uint8_t *buf, size_t pos, size_t end, m2m_tlv_head *head,
                        m2m_fault *fault);

#endif /* M2M_NATIVE_H */
