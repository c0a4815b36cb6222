/* SPDX-License-Identifier: Apache-2.0
 *
 * SCP03t segment protection over OpenSSL EVP (libcrypto 3.x): SGP.02 §4.1.3.3 (SCP03 applied to
 * TLVs) with GP Card Specification Amd D §6.2.4-6.2.7 (C-MAC, C-ENC, R-MAC, R-ENC), as digested
 * in PROTOCOL.md §5.6-5.8; the R-MAC/R-ENC TLV form is PROTOCOL.md's [D] transposition. The
 * Python twin src/m2mrsp/hotpath/scp03t_py.py defines the behaviour, check order and offsets.
 *
 * AES-ECB, AES-CBC and AES-CMAC are OpenSSL's (EVP_CIPHER, EVP_MAC "CMAC"); nothing here
 * implements a cipher or a MAC. A session's contexts are created once and reused:
 * EVP re-initialisation costs about 200-250 ns in OpenSSL 3.0 (PERF_ANCHORS.md §3.2), more than
 * the AES work on a short segment. The CBC contexts are therefore opened once with a zero IV and
 * never re-initialised: their chaining value is then the last cipher-text block they handled,
 * and XORing (ICV ^ that block) into the first plain-text block (or the first decrypted block)
 * gives exactly CBC with IV = ICV.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>

#include "m2m_native.h"

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "the m2mrsp native back-end needs OpenSSL 3.0 or later (EVP_MAC)"
#endif

#define KEY_LENGTH 16
#define MIN_COMMAND_VALUE (M2M_BLOCK + M2M_MAC_LENGTH)
#define MAX_TAG_BYTES 4
#define MAX_LENGTH_BYTES 5

struct m2m_scp {
    EVP_CIPHER_CTX *ecb;     /* AES-128-ECB under S-ENC: the ICVs */
    EVP_CIPHER_CTX *cbc_enc; /* AES-128-CBC under S-ENC, never re-initialised */
    EVP_CIPHER_CTX *cbc_dec;
    EVP_MAC_CTX *cmac; /* AES-CMAC under S-MAC */
    EVP_MAC_CTX *rmac; /* AES-CMAC under S-RMAC */
    uint8_t enc_chain[M2M_BLOCK]; /* last cipher-text block through cbc_enc */
    uint8_t dec_chain[M2M_BLOCK]; /* last cipher-text block through cbc_dec */
    int broken;                   /* the chaining values could not be re-synchronised */
};

static const uint8_t ZERO_BLOCK[M2M_BLOCK];
static char CMAC_CIPHER[] = "AES-128-CBC";

/* -- setup and teardown ----------------------------------------------------------------- */

static EVP_CIPHER_CTX *cipher_ctx(const char *name, const uint8_t *key, int enc)
{
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = cipher != NULL && ctx != NULL
             && EVP_CipherInit_ex(ctx, cipher, NULL, key, ZERO_BLOCK, enc) == 1
             && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1;

    EVP_CIPHER_free(cipher);
    if (!ok) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static EVP_MAC_CTX *cmac_ctx(const uint8_t *key)
{
    OSSL_PARAM params[2];
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, CMAC_CIPHER, 0);
    params[1] = OSSL_PARAM_construct_end();
    EVP_MAC_free(mac);
    if (ctx == NULL || EVP_MAC_init(ctx, key, KEY_LENGTH, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int m2m_scp_new(const uint8_t *s_enc, size_t s_enc_len, const uint8_t *s_mac, size_t s_mac_len,
                const uint8_t *s_rmac, size_t s_rmac_len, m2m_scp **scp)
{
    m2m_scp *fresh;

    if (scp == NULL || s_enc == NULL || s_mac == NULL || s_rmac == NULL
        || s_enc_len != KEY_LENGTH || s_mac_len != KEY_LENGTH || s_rmac_len != KEY_LENGTH)
        return M2M_ERR_ARG;
    *scp = NULL;
    fresh = OPENSSL_zalloc(sizeof(*fresh));
    if (fresh == NULL)
        return M2M_ERR_NOMEM;
    fresh->ecb = cipher_ctx("AES-128-ECB", s_enc, 1);
    fresh->cbc_enc = cipher_ctx("AES-128-CBC", s_enc, 1);
    fresh->cbc_dec = cipher_ctx("AES-128-CBC", s_enc, 0);
    fresh->cmac = cmac_ctx(s_mac);
    fresh->rmac = cmac_ctx(s_rmac);
    if (fresh->ecb == NULL || fresh->cbc_enc == NULL || fresh->cbc_dec == NULL
        || fresh->cmac == NULL || fresh->rmac == NULL) {
        m2m_scp_free(fresh);
        return M2M_ERR_CRYPTO;
    }
    *scp = fresh;
    return M2M_OK;
}

void m2m_scp_free(m2m_scp *scp)
{
    if (scp == NULL)
        return;
    /* The EVP free functions cleanse the expanded keys they hold. */
    EVP_CIPHER_CTX_free(scp->ecb);
    EVP_CIPHER_CTX_free(scp->cbc_enc);
    EVP_CIPHER_CTX_free(scp->cbc_dec);
    EVP_MAC_CTX_free(scp->cmac);
    EVP_MAC_CTX_free(scp->rmac);
    OPENSSL_clear_free(scp, sizeof(*scp));
}

/* -- encoding helpers ------------------------------------------------------------------- */

static size_t tag_octets(uint32_t tag)
{
    return tag > 0xFFFFFFu ? 4 : tag > 0xFFFFu ? 3 : tag > 0xFFu ? 2 : 1;
}

static size_t put_tag(uint8_t *out, uint32_t tag)
{
    size_t n = tag_octets(tag), i;

    for (i = 0; i < n; i++)
        out[i] = (uint8_t)(tag >> (8 * (n - 1 - i)));
    return n;
}

/* Minimal definite BER length octets (PROTOCOL.md §5.6); SCP03t values stay below 64 KiB. */
static size_t length_octets(size_t length)
{
    return length < 0x80 ? 1 : length <= 0xFF ? 2 : 3;
}

static size_t put_length(uint8_t *out, size_t length)
{
    if (length < 0x80) {
        out[0] = (uint8_t)length;
        return 1;
    }
    if (length <= 0xFF) {
        out[0] = 0x81;
        out[1] = (uint8_t)length;
        return 2;
    }
    out[0] = 0x82;
    out[1] = (uint8_t)(length >> 8);
    out[2] = (uint8_t)length;
    return 3;
}

/* ISO/IEC 9797-1 method 2 always adds 1..16 bytes. */
static size_t padded_size(size_t length)
{
    return (length / M2M_BLOCK + 1) * M2M_BLOCK;
}

static size_t tlv_size(size_t cipher_len, uint32_t tag)
{
    size_t value = cipher_len + M2M_MAC_LENGTH;

    return tag_octets(tag) + length_octets(value) + value;
}

static size_t put_header(uint8_t *out, uint32_t tag, size_t cipher_len)
{
    size_t n = put_tag(out, tag);

    return n + put_length(out + n, cipher_len + M2M_MAC_LENGTH);
}

/* Copy data and append 80 00.. up to padded_size(len) bytes. */
static void put_padded(uint8_t *out, const uint8_t *data, size_t len)
{
    size_t padded = padded_size(len);

    if (len != 0)
        memcpy(out, data, len);
    out[len] = 0x80;
    memset(out + len + 1, 0, padded - len - 1);
}

/* The plain-text length of a method-2 padded block run, or -1 when the padding is wrong. */
static int unpadded_size(const uint8_t *padded, size_t len, size_t *plain_len)
{
    size_t zeros = 0;

    while (zeros < len && zeros < M2M_BLOCK && padded[len - 1 - zeros] == 0)
        zeros++;
    if (zeros == len || zeros >= M2M_BLOCK || padded[len - 1 - zeros] != 0x80)
        return -1;
    *plain_len = len - 1 - zeros;
    return 0;
}

/* next = cur + 1 as a 16-byte big-endian integer; -1 when it would wrap to zero. */
static int counter_next(uint8_t next[M2M_BLOCK], const uint8_t cur[M2M_BLOCK])
{
    int i;

    memcpy(next, cur, M2M_BLOCK);
    for (i = M2M_BLOCK - 1; i >= 0; i--) {
        if (++next[i] != 0)
            return 0;
    }
    return -1;
}

/* The caller's state bytes (MCV || counter); -1 when the length is wrong. */
static int load_state(m2m_scp_state *state, const uint8_t *bytes, size_t len)
{
    if (bytes == NULL || len != M2M_STATE_SIZE)
        return -1;
    memcpy(state->mcv, bytes, M2M_BLOCK);
    memcpy(state->counter, bytes + M2M_BLOCK, M2M_BLOCK);
    return 0;
}

static int scp_fault(m2m_fault *fault, uint32_t kind, size_t segment, size_t offset,
                     uint32_t detail)
{
    fault->kind = kind;
    fault->detail = detail;
    fault->segment = segment;
    fault->offset = offset;
    return M2M_ERR_SCP;
}

/* -- AES on the open contexts ----------------------------------------------------------- */

/* After a failed EVP call the chaining values are unknown: restart both CBC contexts from a
 * zero IV, or refuse all further work when even that fails. */
static int crypto_failure(m2m_scp *scp)
{
    if (EVP_CipherInit_ex(scp->cbc_enc, NULL, NULL, NULL, ZERO_BLOCK, -1) != 1
        || EVP_CipherInit_ex(scp->cbc_dec, NULL, NULL, NULL, ZERO_BLOCK, -1) != 1)
        scp->broken = 1;
    memset(scp->enc_chain, 0, M2M_BLOCK);
    memset(scp->dec_chain, 0, M2M_BLOCK);
    return M2M_ERR_CRYPTO;
}

static int ecb_block(m2m_scp *scp, uint8_t out[M2M_BLOCK], const uint8_t in[M2M_BLOCK])
{
    int written = 0;

    if (EVP_EncryptUpdate(scp->ecb, out, &written, in, M2M_BLOCK) != 1
        || written != M2M_BLOCK)
        return M2M_ERR_CRYPTO;
    return M2M_OK;
}

/* ICV of a command (counter) or of a response (80 || counter[1:16]), PROTOCOL.md §5.7-5.8. */
static int make_icv(m2m_scp *scp, uint8_t icv[M2M_BLOCK], const uint8_t counter[M2M_BLOCK],
                    int response)
{
    uint8_t block[M2M_BLOCK];

    memcpy(block, counter, M2M_BLOCK);
    if (response)
        block[0] = 0x80;
    return ecb_block(scp, icv, block);
}

/* CBC-encrypt buf[0:len] (whole blocks) in place with IV = icv. */
static int cbc_encrypt(m2m_scp *scp, const uint8_t icv[M2M_BLOCK], uint8_t *buf, size_t len)
{
    int written = 0;
    size_t i;

    for (i = 0; i < M2M_BLOCK; i++)
        buf[i] ^= icv[i] ^ scp->enc_chain[i];
    if (EVP_EncryptUpdate(scp->cbc_enc, buf, &written, buf, (int)len) != 1
        || (size_t)written != len)
        return crypto_failure(scp);
    memcpy(scp->enc_chain, buf + len - M2M_BLOCK, M2M_BLOCK);
    return M2M_OK;
}

/* CBC-decrypt in[0:len] (whole blocks) with IV = icv into out (not overlapping in). */
static int cbc_decrypt(m2m_scp *scp, const uint8_t icv[M2M_BLOCK], const uint8_t *in, size_t len,
                       uint8_t *out)
{
    int written = 0;
    size_t i;

    if (EVP_DecryptUpdate(scp->cbc_dec, out, &written, in, (int)len) != 1
        || (size_t)written != len)
        return crypto_failure(scp);
    for (i = 0; i < M2M_BLOCK; i++)
        out[i] ^= icv[i] ^ scp->dec_chain[i];
    memcpy(scp->dec_chain, in + len - M2M_BLOCK, M2M_BLOCK);
    return M2M_OK;
}

/* full = AES-CMAC(key of ctx, mcv || header || body), PROTOCOL.md §5.6. */
static int cmac_full(EVP_MAC_CTX *ctx, const uint8_t mcv[M2M_BLOCK], const uint8_t *header,
                     size_t header_len, const uint8_t *body, size_t body_len,
                     uint8_t full[M2M_BLOCK])
{
    uint8_t prefix[M2M_BLOCK + MAX_TAG_BYTES + MAX_LENGTH_BYTES];
    size_t full_len = 0;

    if (header_len > MAX_TAG_BYTES + MAX_LENGTH_BYTES)
        return M2M_ERR_ARG;
    memcpy(prefix, mcv, M2M_BLOCK);
    memcpy(prefix + M2M_BLOCK, header, header_len);
    if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1
        || EVP_MAC_update(ctx, prefix, M2M_BLOCK + header_len) != 1
        || (body_len != 0 && EVP_MAC_update(ctx, body, body_len) != 1)
        || EVP_MAC_final(ctx, full, &full_len, M2M_BLOCK) != 1 || full_len != M2M_BLOCK)
        return M2M_ERR_CRYPTO;
    return M2M_OK;
}

/* -- commands: the SM-DP wraps ---------------------------------------------------------- */

/* One command TLV for data[0:len] at out (room checked by the caller); next = the new state. */
static int wrap_one(m2m_scp *scp, const m2m_scp_state *cur, m2m_scp_state *next,
                    const uint8_t *data, size_t len, uint32_t tag, uint8_t *out, size_t *written)
{
    uint8_t icv[M2M_BLOCK];
    uint8_t *cipher_text;
    size_t cipher_len = padded_size(len), header_len;
    int rc;

    if (counter_next(next->counter, cur->counter) != 0)
        return M2M_ERR_COUNTER;
    header_len = put_header(out, tag, cipher_len);
    cipher_text = out + header_len;
    rc = make_icv(scp, icv, next->counter, 0);
    if (rc == M2M_OK) {
        put_padded(cipher_text, data, len);
        rc = cbc_encrypt(scp, icv, cipher_text, cipher_len);
    }
    OPENSSL_cleanse(icv, sizeof(icv));
    if (rc == M2M_OK)
        rc = cmac_full(scp->cmac, cur->mcv, out, header_len, cipher_text, cipher_len, next->mcv);
    if (rc != M2M_OK)
        return rc;
    memcpy(cipher_text + cipher_len, next->mcv, M2M_MAC_LENGTH);
    *written = header_len + cipher_len + M2M_MAC_LENGTH;
    return M2M_OK;
}

int m2m_scp03t_wrap_segment(m2m_scp *scp, const uint8_t *state, size_t state_len,
                            const uint8_t *data, size_t data_len, uint32_t tag, uint8_t *out,
                            size_t out_cap, size_t *out_written, m2m_scp_state *next)
{
    m2m_scp_state cur;

    if (scp == NULL || load_state(&cur, state, state_len) != 0 || next == NULL
        || (data == NULL && data_len != 0) || out == NULL || out_written == NULL
        || data_len > M2M_MAX_SEGMENT_PLAINTEXT)
        return M2M_ERR_ARG;
    if (scp->broken)
        return M2M_ERR_CRYPTO;
    if (tlv_size(padded_size(data_len), tag) > out_cap)
        return M2M_ERR_SPACE;
    return wrap_one(scp, &cur, next, data, data_len, tag, out, out_written);
}

int m2m_scp03t_wrap_all(m2m_scp *scp, const uint8_t *state, size_t state_len,
                        const uint8_t *data, size_t data_len, size_t segment_size, uint32_t tag,
                        uint8_t *out, size_t out_cap, size_t *out_written, uint8_t *mcvs,
                        size_t mcvs_cap, size_t *segments, m2m_scp_state *next)
{
    m2m_scp_state cur, after;
    size_t full, rest, count, need, pos, chunk, written = 0, done = 0, one;
    int rc = M2M_OK;

    if (scp == NULL || load_state(&cur, state, state_len) != 0 || next == NULL
        || (data == NULL && data_len != 0) || out_written == NULL || segments == NULL
        || (out == NULL && out_cap != 0) || (mcvs == NULL && mcvs_cap != 0)
        || segment_size < 1 || segment_size > M2M_MAX_SEGMENT_PLAINTEXT)
        return M2M_ERR_ARG;
    if (scp->broken)
        return M2M_ERR_CRYPTO;
    full = data_len / segment_size;
    rest = data_len % segment_size;
    count = full + (rest != 0);
    /* A TLV is at most segment_size + 31 bytes: need cannot overflow below. */
    if (full > (SIZE_MAX - 2 * M2M_MAX_SEGMENT_TLV) / (2 * segment_size + 32))
        return M2M_ERR_ARG;
    need = full * tlv_size(padded_size(segment_size), tag);
    if (rest != 0)
        need += tlv_size(padded_size(rest), tag);
    if (need > out_cap || count > mcvs_cap / M2M_BLOCK)
        return M2M_ERR_SPACE;

    for (pos = 0; pos < data_len; pos += chunk) {
        chunk = data_len - pos < segment_size ? data_len - pos : segment_size;
        rc = wrap_one(scp, &cur, &after, data + pos, chunk, tag, out + written, &one);
        if (rc != M2M_OK)
            break;
        memcpy(mcvs + done * M2M_BLOCK, after.mcv, M2M_BLOCK);
        written += one;
        done++;
        cur = after;
    }
    *next = cur;
    *out_written = written;
    *segments = done;
    return rc;
}

/* -- commands: the card unwraps --------------------------------------------------------- */

/* Header checks shared by commands and responses, in the twin's order (types.py). */
static int checked_header(const uint8_t *buf, size_t len, size_t pos, uint32_t tag,
                          size_t segment, size_t min_value, m2m_tlv_head *head,
                          m2m_fault *fault)
{
    if (m2m_tlv_read_header(buf, pos, len, head, fault) != M2M_OK)
        return scp_fault(fault, M2M_SCP_MALFORMED_TLV, segment, fault->offset, fault->kind);
    if (head->tag != tag)
        return scp_fault(fault, M2M_SCP_WRONG_TAG, segment, pos, head->tag);
    if (head->value_offset + head->length - pos > M2M_MAX_SEGMENT_TLV)
        return scp_fault(fault, M2M_SCP_SEGMENT_TOO_LARGE, segment, pos, 0);
    if (head->length < min_value || (head->length - M2M_MAC_LENGTH) % M2M_BLOCK != 0)
        return scp_fault(fault, M2M_SCP_BAD_LENGTH, segment, pos + head->tag_octets, 0);
    return M2M_OK;
}

/* Decrypt and unpad cipher_text into out[0:out_cap]; out is cleansed when the padding is bad. */
static int decrypt_padded(m2m_scp *scp, const uint8_t icv[M2M_BLOCK],
                          const uint8_t *cipher_text, size_t cipher_len, uint8_t *out,
                          size_t out_cap, size_t *plain_len, int *bad_padding)
{
    int rc;

    *bad_padding = 0;
    if (cipher_len > out_cap)
        return M2M_ERR_SPACE;
    rc = cbc_decrypt(scp, icv, cipher_text, cipher_len, out);
    if (rc != M2M_OK)
        return rc;
    if (unpadded_size(out, cipher_len, plain_len) != 0) {
        OPENSSL_cleanse(out, cipher_len);
        *bad_padding = 1;
    }
    return M2M_OK;
}

/* Check and decrypt the command TLV at buf[pos:] within buf[0:len]; *end = the byte after it. */
static int unwrap_one(m2m_scp *scp, const m2m_scp_state *cur, m2m_scp_state *next,
                      const uint8_t *buf, size_t len, size_t pos, uint32_t tag, size_t segment,
                      uint8_t *out, size_t out_cap, size_t *plain_len, size_t *end,
                      m2m_fault *fault)
{
    m2m_tlv_head head;
    uint8_t icv[M2M_BLOCK];
    size_t cipher_len;
    int rc, bad_padding;

    rc = checked_header(buf, len, pos, tag, segment, MIN_COMMAND_VALUE, &head, fault);
    if (rc != M2M_OK)
        return rc;
    *end = head.value_offset + head.length;
    cipher_len = head.length - M2M_MAC_LENGTH;
    rc = cmac_full(scp->cmac, cur->mcv, buf + pos, head.value_offset - pos,
                   buf + head.value_offset, cipher_len, next->mcv);
    if (rc != M2M_OK)
        return rc;
    if (CRYPTO_memcmp(next->mcv, buf + *end - M2M_MAC_LENGTH, M2M_MAC_LENGTH) != 0)
        return scp_fault(fault, M2M_SCP_MAC_MISMATCH, segment, *end - M2M_MAC_LENGTH, 0);
    if (counter_next(next->counter, cur->counter) != 0)
        return M2M_ERR_COUNTER;
    rc = make_icv(scp, icv, next->counter, 0);
    if (rc == M2M_OK)
        rc = decrypt_padded(scp, icv, buf + head.value_offset, cipher_len, out, out_cap,
                            plain_len, &bad_padding);
    OPENSSL_cleanse(icv, sizeof(icv));
    if (rc == M2M_OK && bad_padding)
        return scp_fault(fault, M2M_SCP_BAD_PADDING, segment, head.value_offset, 0);
    return rc;
}

int m2m_scp03t_unwrap_segment(m2m_scp *scp, const uint8_t *state, size_t state_len,
                              const uint8_t *tlv, size_t tlv_len, uint32_t tag, uint8_t *out,
                              size_t out_cap, size_t *out_written, m2m_scp_state *next,
                              m2m_fault *fault)
{
    m2m_scp_state cur, after;
    size_t plain_len = 0, end = 0;
    int rc;

    if (scp == NULL || load_state(&cur, state, state_len) != 0 || next == NULL
        || (tlv == NULL && tlv_len != 0) || out_written == NULL || fault == NULL
        || (out == NULL && out_cap != 0))
        return M2M_ERR_ARG;
    if (scp->broken)
        return M2M_ERR_CRYPTO;
    rc = unwrap_one(scp, &cur, &after, tlv, tlv_len, 0, tag, 0, out, out_cap, &plain_len, &end,
                    fault);
    if (rc != M2M_OK)
        return rc;
    if (end != tlv_len) {
        OPENSSL_cleanse(out, plain_len);
        return scp_fault(fault, M2M_SCP_MALFORMED_TLV, 0, end, M2M_TLV_TRAILING_BYTES);
    }
    *next = after;
    *out_written = plain_len;
    return M2M_OK;
}

int m2m_scp03t_unwrap_all(m2m_scp *scp, const uint8_t *state, size_t state_len,
                          const uint8_t *tlvs, size_t tlvs_len, uint32_t tag, uint8_t *out,
                          size_t out_cap, size_t *ends, uint8_t *mcvs, size_t max_segments,
                          size_t *segments, m2m_scp_state *next, m2m_fault *fault)
{
    m2m_scp_state cur, after;
    size_t pos = 0, written = 0, done = 0, plain_len, end;
    int rc = M2M_OK;

    if (scp == NULL || load_state(&cur, state, state_len) != 0 || next == NULL
        || (tlvs == NULL && tlvs_len != 0) || segments == NULL || fault == NULL || out == NULL
        || ((ends == NULL || mcvs == NULL) && max_segments != 0))
        return M2M_ERR_ARG;
    if (scp->broken)
        return M2M_ERR_CRYPTO;
    while (pos < tlvs_len) {
        rc = unwrap_one(scp, &cur, &after, tlvs, tlvs_len, pos, tag, done, out + written,
                        out_cap - written, &plain_len, &end, fault);
        if (rc == M2M_OK && done == max_segments) {
            OPENSSL_cleanse(out + written, plain_len);
            rc = M2M_ERR_SPACE;
        }
        if (rc != M2M_OK)
            break;
        written += plain_len;
        ends[done] = written;
        memcpy(mcvs + done * M2M_BLOCK, after.mcv, M2M_BLOCK);
        done++;
        cur = after;
        pos = end;
    }
    *next = cur;
    *segments = done;
    return rc;
}

/* -- responses: the card wraps, the SM-DP unwraps --------------------------------------- */

int m2m_scp03t_wrap_response(m2m_scp *scp, const uint8_t *state, size_t state_len,
                             const uint8_t *data, size_t data_len, uint32_t tag, uint8_t *out,
                             size_t out_cap, size_t *out_written)
{
    m2m_scp_state cur;
    uint8_t icv[M2M_BLOCK], full[M2M_BLOCK];
    size_t cipher_len, header_len;
    int rc = M2M_OK;

    if (scp == NULL || load_state(&cur, state, state_len) != 0
        || (data == NULL && data_len != 0) || out == NULL || out_written == NULL
        || data_len > M2M_MAX_SEGMENT_PLAINTEXT)
        return M2M_ERR_ARG;
    if (scp->broken)
        return M2M_ERR_CRYPTO;
    cipher_len = data_len != 0 ? padded_size(data_len) : 0;
    if (tlv_size(cipher_len, tag) > out_cap)
        return M2M_ERR_SPACE;
    header_len = put_header(out, tag, cipher_len);
    if (data_len != 0) {
        rc = make_icv(scp, icv, cur.counter, 1);
        if (rc == M2M_OK) {
            put_padded(out + header_len, data, data_len);
            rc = cbc_encrypt(scp, icv, out + header_len, cipher_len);
        }
        OPENSSL_cleanse(icv, sizeof(icv));
    }
    if (rc == M2M_OK)
        rc = cmac_full(scp->rmac, cur.mcv, out, header_len, out + header_len, cipher_len,
                       full);
    if (rc != M2M_OK)
        return rc;
    memcpy(out + header_len + cipher_len, full, M2M_MAC_LENGTH);
    *out_written = header_len + cipher_len + M2M_MAC_LENGTH;
    return M2M_OK;
}

int m2m_scp03t_unwrap_response(m2m_scp *scp, const uint8_t *state, size_t state_len,
                               const uint8_t *tlv, size_t tlv_len, uint32_t tag, uint8_t *out,
                               size_t out_cap, size_t *out_written, m2m_fault *fault)
{
    m2m_scp_state cur;
    m2m_tlv_head head;
    uint8_t icv[M2M_BLOCK], full[M2M_BLOCK];
    size_t end, cipher_len, plain_len = 0;
    int rc, bad_padding = 0;

    if (scp == NULL || load_state(&cur, state, state_len) != 0
        || (tlv == NULL && tlv_len != 0) || out_written == NULL || fault == NULL
        || (out == NULL && out_cap != 0))
        return M2M_ERR_ARG;
    if (scp->broken)
        return M2M_ERR_CRYPTO;
    rc = checked_header(tlv, tlv_len, 0, tag, 0, M2M_MAC_LENGTH, &head, fault);
    if (rc != M2M_OK)
        return rc;
    end = head.value_offset + head.length;
    if (end != tlv_len)
        return scp_fault(fault, M2M_SCP_MALFORMED_TLV, 0, end, M2M_TLV_TRAILING_BYTES);
    cipher_len = head.length - M2M_MAC_LENGTH;
    rc = cmac_full(scp->rmac, cur.mcv, tlv, head.value_offset, tlv + head.value_offset,
                   cipher_len, full);
    if (rc != M2M_OK)
        return rc;
    if (CRYPTO_memcmp(full, tlv + end - M2M_MAC_LENGTH, M2M_MAC_LENGTH) != 0)
        return scp_fault(fault, M2M_SCP_MAC_MISMATCH, 0, end - M2M_MAC_LENGTH, 0);
    if (cipher_len != 0) {
        rc = make_icv(scp, icv, cur.counter, 1);
        if (rc == M2M_OK)
            rc = decrypt_padded(scp, icv, tlv + head.value_offset, cipher_len, out, out_cap,
                                &plain_len, &bad_padding);
        OPENSSL_cleanse(icv, sizeof(icv));
    }
    if (rc == M2M_OK && bad_padding)
        return scp_fault(fault, M2M_SCP_BAD_PADDING, 0, head.value_offset, 0);
    if (rc == M2M_OK)
        *out_written = plain_len;
    return rc;
}
