/* image data (cli/data_image.c): CSV rows of a label and height*width
 * pixels; its row reading also serves predict, where the label is
 * optional. */
#ifndef TG_CLI_DATA_IMAGE_H
#define TG_CLI_DATA_IMAGE_H

#include "data_util.h"

/* One image row [p, eol) as predict reads it: height*width pixel values,
 * after a label or not (told apart by the number of fields). The image's
 * patch steps go into x (as the reader lays them out: [patches, patch *
 * patch]), the pixels into px ([height * width], scratch); *label and
 * *label_size the label's text (length 0: none). Returns 0, or -1 with a
 * message (naming neither file nor line) in err and *not_number set when
 * a field was not a number (a header row, when it comes first). */
int cli_image_row(const tg_spec *s, const char *p, const char *eol, double *px, double *x,
                  const char **label, size_t *label_size, bool *not_number, char *err,
                  size_t errlen);

#endif
