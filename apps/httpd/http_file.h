/* The files dpwsk-httpd serves with --root: opening a relative path so that it cannot resolve
 * outside the served directory (not through "..", not through a symbolic link), and the
 * Content-Type that goes with a file name. */
#ifndef DPW_HTTP_FILE_H
#define DPW_HTTP_FILE_H

#include <stdbool.h>
#include <stdint.h>

/* Open the served directory; -1 with errno set on failure. */
int http_root_open(const char *root);

/* Open rel (from http_target_to_path: no leading slash, no "..", "" for the root itself)
 * beneath root_fd for reading. A directory is served by its index.html. Returns 0 with *fd
 * (the caller closes it), *size and *type (a static string) set, or the HTTP status to
 * answer with: 404 (missing, or a directory without index.html), 403 (not a regular file,
 * unreadable, or resolving outside the root), 500 (anything else). dir says the target
 * ended in '/': only a directory matches it. Never blocks on a FIFO. */
int http_file_open(int root_fd, const char *rel, bool dir, int *fd, uint64_t *size,
		   const char **type);

/* The Content-Type for a file name, by its extension; application/octet-stream when unknown. */
const char *http_content_type(const char *name);

#endif /* DPW_HTTP_FILE_H */
