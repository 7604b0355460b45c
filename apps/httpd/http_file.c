/* Files beneath the served directory (see http_file.h).
 *
 * Confinement is the kernel's: openat2() with RESOLVE_BENEATH refuses any resolution that
 * would leave the root directory, through "..", an absolute symbolic link or a relative one
 * that climbs out, so a link inside the tree works and one pointing outside does not. Where
 * openat2 is missing (kernels before 5.6, some sandboxes) each component is opened in turn
 * with O_NOFOLLOW: stricter (no symbolic links at all), equally confined. O_NONBLOCK keeps a
 * FIFO in the tree from blocking the polling core at open; only regular files are served. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "http_file.h"

#define OPEN_FLAGS (O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)

int http_root_open(const char *root)
{
	return open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* One component at a time, no symbolic links followed. */
static int open_walk(int root_fd, const char *rel)
{
	char part[256];
	int dir = dup(root_fd), fd;

	if (dir < 0)
		return -1;
	for (;;) {
		const char *slash = strchr(rel, '/');
		size_t n = slash != NULL ? (size_t)(slash - rel) : strlen(rel);

		if (n >= sizeof(part)) {
			close(dir);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(part, rel, n);
		part[n] = '\0';
		fd = openat(dir, part, OPEN_FLAGS | O_NOFOLLOW | (slash != NULL ? O_DIRECTORY : 0));
		close(dir);
		if (fd < 0 || slash == NULL)
			return fd;
		dir = fd;
		rel = slash + 1;
	}
}

static int open_beneath(int root_fd, const char *rel)
{
	static bool no_openat2;
	struct open_how how;
	long fd;

	if (rel[0] == '\0')
		rel = ".";
	if (!no_openat2) {
		memset(&how, 0, sizeof(how));
		how.flags = OPEN_FLAGS;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof(how));
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
			return (int)fd;
		no_openat2 = true;   /* not here (EPERM: a seccomp filter) */
	}
	if (strcmp(rel, ".") == 0)
		return openat(root_fd, ".", OPEN_FLAGS | O_DIRECTORY);
	return open_walk(root_fd, rel);
}

static int status_for_errno(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
		return 404;
	case EXDEV:      /* RESOLVE_BENEATH: it would leave the root */
	case ELOOP:      /* a symbolic link where none may be followed */
	case EACCES:
	case EPERM:
		return 403;
	default:
		return 500;
	}
}

int http_file_open(int root_fd, const char *rel, bool dir, int *fd, uint64_t *size,
		   const char **type)
{
	char index[4096];
	struct stat st;
	int f = open_beneath(root_fd, rel);

	*fd = -1;
	if (f < 0)
		return status_for_errno(errno);
	if (fstat(f, &st) != 0) {
		close(f);
		return 500;
	}
	if (S_ISDIR(st.st_mode)) {
		close(f);
		if (snprintf(index, sizeof(index), "%s%sindex.html", rel,
			     rel[0] != '\0' ? "/" : "") >= (int)sizeof(index))
			return 404;
		f = open_beneath(root_fd, index);
		if (f < 0)
			return status_for_errno(errno);
		if (fstat(f, &st) != 0) {
			close(f);
			return 500;
		}
		rel = index;
		dir = false;
	}
	if (!S_ISREG(st.st_mode) || dir) {
		close(f);
		return S_ISREG(st.st_mode) ? 404 : 403;   /* "/file/" names no directory */
	}
	*fd = f;
	*size = (uint64_t)st.st_size;
	*type = http_content_type(rel);
	return 0;
}

const char *http_content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "htm", "text/html; charset=utf-8" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "css", "text/css" },
		{ "js", "text/javascript" },
		{ "json", "application/json" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "svg", "image/svg+xml" },
		{ "ico", "image/x-icon" },
		{ "pdf", "application/pdf" },
	};
	const char *base = strrchr(name, '/');
	const char *dot = strrchr(base != NULL ? base : name, '.');

	if (dot != NULL)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}
