package all

import (
	_ "github.com/gatescreen/gatescreen/drivers/amg8833"
	_ "github.com/gatescreen/gatescreen/drivers/badge"
	_ "github.com/gatescreen/gatescreen/drivers/gymcu90614"
	_ "github.com/gatescreen/gatescreen/drivers/lineproto"
	_ "github.com/gatescreen/gatescreen/drivers/mlx90614"
	_ "github.com/gatescreen/gatescreen/drivers/mlx90640"
	_ "github.com/gatescreen/gatescreen/drivers/modbusir"
)
