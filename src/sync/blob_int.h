/*
 * blob_int.h - what the files of the blob client share (blob.h is the
 * interface); nothing outside src/sync/ includes this.
 */
#ifndef OB_SYNC_BLOB_INT_H
#define OB_SYNC_BLOB_INT_H

#include "sync/blob.h"

/*
 * Parse one List Blobs answer (EnumerationResults XML): append each
 * <Blob>'s <Name> and <Content-Length> to *out (n entries, cap
 * allocated), and copy <NextMarker> to next ("" when the listing is
 * complete).  Only the elements obstui needs are read; entities are
 * decoded.  OB_ECORRUPT when the text is not such a document.
 */
enum ob_err blob_list_parse(const char *xml, size_t len, struct blob_entry **out, size_t *n,
			    size_t *cap, char *next, size_t nextcap, char *errbuf);

/* The text of <Code> and <Message> in an error body, for messages. */
void blob_error_parse(const char *xml, size_t len, char *code, size_t codecap, char *msg,
		      size_t msgcap);

/* The file:// backend: the same operations under dir. */
enum ob_err blob_file_list(const char *dir, const char *prefix, struct blob_entry **out,
			   size_t *n, char *errbuf);
enum ob_err blob_file_get(const char *dir, const char *name, uint64_t cap, struct ob_buf *out,
			  char *errbuf);
enum ob_err blob_file_put(const char *dir, const char *name, const uint8_t *data, size_t len,
			  bool *existed, char *errbuf);
enum ob_err blob_file_delete(const char *dir, const char *name, char *errbuf);

#endif
