/*
 * Linked into mediasoup-worker with -Wl,--wrap=BIO_set_callback_ex.
 *
 * Why: mediasoup's DTLS BIO callback (DtlsTransport.cpp, onSslBioOut) answers
 * 1 to every post-operation call except a bare BIO_CB_RETURN, so BIO_ctrl()
 * queries on its memory BIO report "true". Debian's OpenSSL has kernel TLS
 * compiled in and asks BIO_get_ktls_send(wbio); the bogus "yes" makes libssl
 * skip allocating its DTLS write buffer and the worker SIGSEGVs on the first
 * DTLS handshake. Upstream OpenSSL builds without KTLS never ask.
 *
 * Fix without touching mediasoup's sources: remember the caller's callback
 * (in the BIO's ex-data) and install ours, which forwards every call but hands
 * back OpenSSL's real answer to the KTLS queries.
 */
#include <openssl/bio.h>
#include <openssl/crypto.h>

void __real_BIO_set_callback_ex(BIO *bio, BIO_callback_fn_ex callback);
void __wrap_BIO_set_callback_ex(BIO *bio, BIO_callback_fn_ex callback);

static CRYPTO_ONCE slot_once = CRYPTO_ONCE_STATIC_INIT;
static int slot = -1;

static void slot_init(void)
{
	slot = BIO_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static long forwarding_callback(BIO *bio, int oper, const char *argp, size_t len, int argi,
                                long argl, int ret, size_t *processed)
{
	BIO_callback_fn_ex inner = (BIO_callback_fn_ex)BIO_get_ex_data(bio, slot);
	long result = inner ? inner(bio, oper, argp, len, argi, argl, ret, processed)
	                    : ((oper & BIO_CB_RETURN) ? ret : 1);

	if (oper == (BIO_CB_CTRL | BIO_CB_RETURN) &&
	    (argi == BIO_CTRL_GET_KTLS_SEND || argi == BIO_CTRL_GET_KTLS_RECV))
		return ret;

	return result;
}

void __wrap_BIO_set_callback_ex(BIO *bio, BIO_callback_fn_ex callback)
{
	/* Without a slot we cannot forward: keep upstream behaviour rather than fail. */
	if (callback == NULL || !CRYPTO_THREAD_run_once(&slot_once, slot_init) || slot < 0 ||
	    !BIO_set_ex_data(bio, slot, (void *)callback)) {
		__real_BIO_set_callback_ex(bio, callback);
		return;
	}

	__real_BIO_set_callback_ex(bio, forwarding_callback);
}
