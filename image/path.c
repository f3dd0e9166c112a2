#include <errno.h>
#include <string.h>

#include "image/path.h"

int image_path_clean(const char *in, char *out, size_t outsz)
{
	if (!in || in[0] == '/')
		return -EINVAL;
	size_t o = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return -EINVAL;
		if (n == 1 && p[0] == '.') {
			p = e;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		if (o + (o ? 1 : 0) + n + 1 > outsz)
			return -ENAMETOOLONG;
		if (o)
			out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		p = e;
	}
	if (outsz == 0)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}

void image_path_split(char *path, const char **parent, const char **base)
{
	char *slash = strrchr(path, '/');
	if (!slash) {
		*parent = "";
		*base = path;
		return;
	}
	*slash = '\0';
	*parent = path;
	*base = slash + 1;
}
