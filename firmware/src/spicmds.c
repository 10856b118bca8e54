/* SPI devices: a chip select plus a hardware or software bus.
 *
 * Contract (docs/MCU_Commands.md and Protocol.md, Klipper's spicmds):
 * config_spi makes a device whose chip-select pin is driven inactive
 * (high unless cs_active_high); config_spi_without_cs one without a CS
 * pin.  spi_set_bus picks a hardware bus (a number of the profile's
 * spi_bus enumeration, else "Invalid spi bus"; mode 0..3 else "Invalid
 * spi config"); spi_set_sw_bus bit-bangs on three pins.  spi_transfer
 * sends `data` with CS active and answers spi_transfer_response with as
 * many bytes; spi_send does the same without an answer.  A transfer on a
 * device with no bus yet is "Invalid spi config".
 *
 * Simulated peripheral: the chip on the other end answers every byte
 * with 0 (board_spi_transfer); the transfer takes no simulated time.
 */
#include <string.h>
#include "fw.h"
#include "board.h"

#define SPI_HAVE_CS 0x01
#define SPI_CS_ACTIVE_HIGH 0x02
#define SPI_HAVE_BUS 0x04
#define SPI_SOFTWARE 0x08

struct spidev {
    uint32_t cs_pin, bus, mode, rate;
    uint32_t miso_pin, mosi_pin, sclk_pin;
    uint8_t flags;
};

static struct spidev *spi_alloc(struct mcu *m, uint8_t oid)
{
    return oid_alloc(m, oid, OT_SPI, sizeof(struct spidev));
}

struct spidev *spidev_lookup(struct mcu *m, uint8_t oid)
{
    return oid_lookup(m, oid, OT_SPI);
}

static void spi_cs(struct mcu *m, struct spidev *s, int active)
{
    if (s->flags & SPI_HAVE_CS)
        gpio_out_write(m, s->cs_pin,
                       active == !!(s->flags & SPI_CS_ACTIVE_HIGH));
}

void spidev_transfer(struct mcu *m, struct spidev *s, uint8_t receive,
                     uint8_t *data, uint8_t len)
{
    if (!(s->flags & SPI_HAVE_BUS))
        shutdown(m, "Invalid spi config");
    spi_cs(m, s, 1);
    board_spi_transfer(m, s->bus, data, len);
    if (!receive)
        memset(data, 0, len);
    spi_cs(m, s, 0);
}

DECL_COMMAND(command_config_spi, "config_spi oid=%c pin=%u cs_active_high=%c");
void command_config_spi(struct mcu *m, uint32_t *args)
{
    if (!board_pin_valid(m, args[1]))
        shutdown(m, "Not a valid pin");
    struct spidev *s = spi_alloc(m, args[0]);
    s->cs_pin = args[1];
    s->flags = SPI_HAVE_CS | (args[2] ? SPI_CS_ACTIVE_HIGH : 0);
    spi_cs(m, s, 0);
}

DECL_COMMAND(command_config_spi_without_cs, "config_spi_without_cs oid=%c");
void command_config_spi_without_cs(struct mcu *m, uint32_t *args)
{
    spi_alloc(m, args[0]);
}

DECL_COMMAND(command_spi_set_bus, "spi_set_bus oid=%c spi_bus=%u mode=%u rate=%u");
void command_spi_set_bus(struct mcu *m, uint32_t *args)
{
    struct spidev *s = spidev_lookup(m, args[0]);
    if (args[1] >= m->profile->spi_bus_count)
        shutdown(m, "Invalid spi bus");
    if (args[2] > 3)
        shutdown(m, "Invalid spi config");
    s->bus = args[1];
    s->mode = args[2];
    s->rate = args[3];
    s->flags = (s->flags & ~SPI_SOFTWARE) | SPI_HAVE_BUS;
}

DECL_COMMAND(command_spi_set_sw_bus,
             "spi_set_sw_bus oid=%c miso_pin=%u mosi_pin=%u sclk_pin=%u"
             " mode=%u pulse_ticks=%u");
void command_spi_set_sw_bus(struct mcu *m, uint32_t *args)
{
    struct spidev *s = spidev_lookup(m, args[0]);
    for (int i = 1; i <= 3; i++)
        if (!board_pin_valid(m, args[i]))
            shutdown(m, "Not a valid pin");
    if (args[4] > 3)
        shutdown(m, "Invalid spi config");
    s->miso_pin = args[1];
    s->mosi_pin = args[2];
    s->sclk_pin = args[3];
    s->mode = args[4];
    s->rate = args[5];     /* software SPI: ticks per clock half-period */
    gpio_out_write(m, s->sclk_pin, s->mode >= 2);   /* CPOL: idle level */
    s->flags |= SPI_HAVE_BUS | SPI_SOFTWARE;
}

/* spi_send / spi_transfer: the command's `data` buffer clocked out to
 * the device (`receive`: what came back is kept in `data`); its length. */
static uint8_t spi_command_transfer(struct mcu *m, uint32_t *args, uint8_t receive,
                                    uint8_t *data)
{
    struct spidev *s = spidev_lookup(m, args[0]);
    uint8_t len = args[1];
    memcpy(data, m->arg_data, len);
    spidev_transfer(m, s, receive, data, len);
    return len;
}

DECL_COMMAND(command_spi_transfer, "spi_transfer oid=%c data=%*s");
void command_spi_transfer(struct mcu *m, uint32_t *args)
{
    uint8_t data[MESSAGE_PAYLOAD_MAX];
    uint8_t len = spi_command_transfer(m, args, 1, data);
    sendf(m, "spi_transfer_response oid=%c response=%*s", (uint8_t)args[0],
          (int)len, data);
}

DECL_COMMAND(command_spi_send, "spi_send oid=%c data=%*s");
void command_spi_send(struct mcu *m, uint32_t *args)
{
    uint8_t data[MESSAGE_PAYLOAD_MAX];
    spi_command_transfer(m, args, 0, data);
}
